from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "carecall.audit"
    label = "audit"

    def ready(self) -> None:
        from carecall.audit.actions import audit_actions_register
        from carecall.audit.members import MemberAction, member_change_record
        from carecall.audit.navigation import NAVIGATION
        from carecall.core.navigation import nav_entries_register
        from carecall.orgs.signals import member_changed

        audit_actions_register(MemberAction)
        nav_entries_register(*NAVIGATION)
        member_changed.connect(member_change_record, dispatch_uid="audit.member_change_record")
