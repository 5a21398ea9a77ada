from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "carecall.audit"
    label = "audit"

    def ready(self) -> None:
        from carecall.audit.actions import audit_actions_register
        from carecall.audit.members import MemberAction, member_change_record
        from carecall.orgs.signals import member_changed

        audit_actions_register(MemberAction)
        member_changed.connect(member_change_record, dispatch_uid="audit.member_change_record")
