"""Every email's subject and text part are plain text: a name like "Smith & Jones <b>" or
"O'Neil" arrives as typed, never as "Smith &amp; Jones &lt;b&gt;" or "O&#x27;Neil"; the HTML part
stays escaped (no markup from a name reaches it). Each email is sent the way the app sends it
(invitation, password reset, the app request's decision here; the receipt and the refund email
in carecall/payments/tests/test_payment_emails_plain_text_unescaped.py), and a catalogue test
makes a new email template fail until it is added to one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse

from carecall.clinic_apps.models import AppKey
from carecall.clinic_apps.services import app_request_create, app_request_decide
from carecall.notifications.services import email_render
from carecall.orgs.invitations import invitation_create
from carecall.orgs.models import Role
from testsupport.world import World

pytestmark = pytest.mark.django_db

HOSTILE = "Smith & Jones <b>O'Neil</b>"
ESCAPED = "Smith &amp; Jones &lt;b&gt;O&#x27;Neil&lt;/b&gt;"

# Every email template (its `_subject.txt`, `.txt` and `.html`) and the test that sends it.
EMAILS_TESTED = {
    "orgs/email/invitation": "test_the_invitation_email",
    "accounts/email/password_reset": "test_the_password_reset_email",
    "clinic_apps/email/decision": "test_the_app_request_decision_email",
    "payments/email/receipt": "test_payment_emails_plain_text_unescaped.test_the_receipt_email",
    "payments/email/refund": "test_payment_emails_plain_text_unescaped.test_the_refund_email",
}


def only_email(to: str | None = None) -> EmailMultiAlternatives:
    sent = [m for m in mail.outbox if to is None or m.to == [to]]
    assert len(sent) == 1, [m.subject for m in mail.outbox]
    message = sent[0]
    assert isinstance(message, EmailMultiAlternatives)
    return message


def html_part(message: EmailMultiAlternatives) -> str:
    (alternative,) = message.alternatives
    assert alternative[1] == "text/html"
    return str(alternative[0])


def assert_plain_and_escaped(
    message: EmailMultiAlternatives, *, in_subject: bool = True, hostile: str = HOSTILE
) -> None:
    """The hostile text as typed in the subject (when it holds it) and the text part, escaped
    in the HTML part, and never escaped in the plain parts."""
    escaped = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace("'", "&#x27;").replace('"', "&quot;")
    if in_subject:
        assert hostile in message.subject, message.subject
    assert hostile in str(message.body), message.body
    for plain in (message.subject, str(message.body)):
        assert "&amp;" not in plain and "&lt;" not in plain and "&#x27;" not in plain
    html = html_part(message)
    assert escaped in html, html
    assert hostile not in html


def test_the_invitation_email(world: World, django_capture_on_commit_callbacks: Any) -> None:
    world.harbour.name = HOSTILE
    world.harbour.save()
    world.clinic_admin.full_name = "Anne O'Neil & Co <i>"
    world.clinic_admin.save()

    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            actor=world.clinic_admin,
            organisation=world.organisation,
            clinic=world.harbour,
            email="new@example.test",
            role=Role.CLINICIAN,
        )

    message = only_email("new@example.test")
    assert message.subject == f"You are invited to join {HOSTILE} on CareCall"
    assert_plain_and_escaped(message)
    assert_plain_and_escaped(message, in_subject=False, hostile="Anne O'Neil & Co <i>")


def test_the_password_reset_email(world: World, django_capture_on_commit_callbacks: Any) -> None:
    world.clinician.full_name = HOSTILE
    world.clinician.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            reverse("accounts:password_reset"), {"email": world.clinician.email}
        )

    assert response.status_code == 302
    message = only_email(world.clinician.email)
    assert message.subject == "Reset your CareCall password"
    assert str(message.body).startswith(f"Hello {HOSTILE},")
    assert_plain_and_escaped(message, in_subject=False)
    # The link in the text part is the link, not an escaped copy of it.
    assert "&amp;" not in str(message.body) and "/accounts/password-reset/" in str(message.body)


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "declined"])
def test_the_app_request_decision_email(
    world: World, django_capture_on_commit_callbacks: Any, approve: bool
) -> None:
    world.harbour.name = HOSTILE
    world.harbour.save()
    request = app_request_create(
        actor=world.org_admin,
        organisation=world.organisation,
        app=AppKey.PAYMENT_GATEWAY,
        clinics=[world.harbour],
        manager_name="Olivia Nguyen",
        manager_email="olivia@example.test",
        manager_phone="+61 2 9000 0000",
        accept_terms=True,
    )
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        app_request_decide(
            actor=world.operator, request=request, approve=approve, comment="Card & cash <ok>"
        )

    message = only_email(world.org_admin.email)
    # The subject names the app (a fixed label), not the clinic: nothing of a person's in it.
    assert message.subject == (
        "Payment Gateway is enabled" if approve else "Your Payment Gateway request was declined"
    )
    assert_plain_and_escaped(message, in_subject=False)
    assert_plain_and_escaped(message, in_subject=False, hostile="Card & cash <ok>")


def test_a_template_without_autoescape_off_still_renders_its_plain_parts_unescaped(
    tmp_path: Path, settings: Any
) -> None:
    """The rule is in `email_render`, not in each template's `{% autoescape off %}`: a new
    email whose author forgot the tag is still plain text."""
    folder = tmp_path / "templates" / "probe"
    folder.mkdir(parents=True)
    (folder / "mail_subject.txt").write_text("About {{ name }}")
    (folder / "mail.txt").write_text("Hello {{ name }}")
    (folder / "mail.html").write_text("<p>Hello {{ name }}</p>")
    engines = [dict(settings.TEMPLATES[0])]
    engines[0]["DIRS"] = [*engines[0]["DIRS"], tmp_path / "templates"]
    settings.TEMPLATES = engines

    subject, text, html = email_render(template="probe/mail", context={"name": HOSTILE})

    assert subject == f"About {HOSTILE}"
    assert text == f"Hello {HOSTILE}"
    assert html == f"<p>Hello {ESCAPED}</p>"


def test_every_email_template_is_tested_here_or_in_the_payments_tests() -> None:
    found = {
        str(path.relative_to(path.parents[2])).removesuffix("_subject.txt")
        for path in Path(settings.BASE_DIR, "carecall").glob("*/templates/*/email/*_subject.txt")
    }
    assert found == set(EMAILS_TESTED), "add the new email to EMAILS_TESTED and test it"
    for template in found:
        for part in ("_subject.txt", ".txt", ".html"):
            assert any(Path(settings.BASE_DIR, "carecall").glob(f"*/templates/{template}{part}")), (
                f"{template}{part} is missing"
            )
