"""The bad-input catalogue for HTTP, as data: every POST form, every JSON endpoint and every
query string, each case with the persona who can reach it, what is sent, and the clear answer
expected (the status and words of the reason the page or JSON gives). Nothing may change in
the database and Stripe may not be called (test_http_bad_input.py checks both).

Form cases post the target's valid form (FORMS) with some fields replaced (None: left out).
Values may name ids of the scene as {harbour}, {northside}, {clinician_id}, {patient}."""

from __future__ import annotations

from dataclasses import dataclass, field

NUL, ESC, BIDI, LSEP = "\x00", "\x1b", "\u202e", "\u2028"
CONTROL = "remove the control characters"
HUGE_ID = "9" * 30
HUGE_NUMBER = "9" * 4300


@dataclass(frozen=True)
class HttpCase:
    id: str
    persona: str
    target: str
    kind: str  # "form" (POST fields), "json" (POST body) or "query" (GET query string)
    says: str  # words the answer must hold (case-insensitive, HTML unescaped)
    fields: dict[str, str | None] = field(default_factory=dict)
    body: bytes = b""
    status: int = 400


def form(id: str, persona: str, target: str, says: str, **fields: str | None) -> HttpCase:
    return HttpCase(id, persona, target, "form", says, fields=fields)


def body(id: str, persona: str, target: str, says: str, raw: bytes, status: int = 400) -> HttpCase:
    return HttpCase(id, persona, target, "json", says, body=raw, status=status)


def query(id: str, persona: str, target: str, says: str, **params: str) -> HttpCase:
    return HttpCase(id, persona, target, "query", says, fields=dict(params))


# The valid form of each target: a case changes only what it is about.
FORMS: dict[str, dict[str, str]] = {
    "entry": {"first_name": "Pat", "last_name": "Jones", "phone": "", "accept_terms": "on"},
    "guest_join": {"display_name": "Gina Carer"},
    "sign_in": {"username": "chris@example.test", "password": "a-long-test-password"},
    "password_reset": {"email": "chris@example.test"},
    "invitation": {
        "full_name": "Nadia New",
        "password": "correct horse battery",
        "password_again": "correct horse battery",
    },
    "clinic_invite": {"email": "newer@example.test", "role": "clinician"},
    "org_invite": {"email": "admin2@example.test"},
    "operator_org_create": {"name": "Brand New Health", "admin_email": "boss@brandnew.test"},
    "clinic_create": {"name": "Eastside GP", "timezone": "Australia/Sydney", "currency": "AUD"},
    "clinic_edit": {"name": "Harbour GP", "timezone": "Australia/Sydney", "currency": "AUD"},
    "payment_settings": {
        "form": "payment_settings",
        "pay-payment_max_amount": "10000.00",
        "pay-contact_email": "desk@harbour.test",
        "pay-contact_phone": "+61 2 9000 1234",
        "pay-legal_name": "Harbour GP Pty Ltd",
        "pay-address": "10 Harbour St\nSydney NSW 2000",
        "pay-business_number": "51824753556",
        "pay-provider_{clinician_id}": "2123456A",
    },
    "waiting_settings": {
        "is_on": "on",
        "message": "Please wait.",
        "terms": "Private, not recorded.",
        "require_first_name": "on",
        "require_last_name": "on",
        "opens_0": "08:30",
        "closes_0": "17:00",
    },
    "org_apps": {
        "clinics": "{northside}",
        "manager_name": "Olivia Nguyen",
        "manager_email": "olivia@example.test",
        "manager_phone": "+61 2 9000 0000",
        "accept_terms": "on",
    },
    "refund": {
        "amount": "10.00",
        "reason": "requested_by_customer",
        "note": "",
        "form_token": "bad-input-refund-form-token",
    },
}
# The payment settings section is posted to the clinic's settings page.
FORM_URL = {"payment_settings": "clinic_edit"}

FORM_CASES = [
    # --- the entry page (waiting area), as the patient: anyone with the clinic's link
    form("entry-nul-first-name", "anonymous", "entry", CONTROL, first_name=f"Pat{NUL}"),
    form("entry-escape-last-name", "anonymous", "entry", CONTROL, last_name=f"Jo{ESC}[2Jnes"),
    form("entry-bidi-first-name", "anonymous", "entry", CONTROL, first_name=f"{BIDI}taP"),
    form("entry-line-separator", "anonymous", "entry", CONTROL, last_name=f"Jo{LSEP}nes"),
    form("entry-newline-in-name", "anonymous", "entry", CONTROL, first_name="Pat\nJones"),
    form("entry-nul-phone", "anonymous", "entry", CONTROL, phone=f"0400{NUL}000"),
    form("entry-name-too-long", "anonymous", "entry", "at most 80 characters", first_name="P" * 81),
    form("entry-phone-too-long", "anonymous", "entry", "at most 32 characters", phone="1" * 33),
    form("entry-no-first-name", "anonymous", "entry", "This field is required", first_name=None),
    form("entry-blank-last-name", "anonymous", "entry", "This field is required", last_name="  "),
    form("entry-terms-not-accepted", "anonymous", "entry", "terms", accept_terms=None),
    # --- a guest's link, before they give their name
    form("guest-nul-name", "guest", "guest_join", CONTROL, display_name=f"Gina{NUL}"),
    form("guest-bidi-name", "guest", "guest_join", CONTROL, display_name=f"Gina{BIDI}"),
    form("guest-empty-name", "guest", "guest_join", "This field is required", display_name=""),
    form("guest-name-too-long", "guest", "guest_join", "at most 120", display_name="G" * 121),
    # --- signing in and the password reset
    form("sign-in-nul-email", "anonymous", "sign_in", CONTROL, username=f"chris{NUL}@example.test"),
    form("sign-in-not-an-email", "anonymous", "sign_in", "valid email", username="chris"),
    form("sign-in-no-password", "anonymous", "sign_in", "This field is required", password=None),
    form("sign-in-nul-password", "anonymous", "sign_in", "Null characters", password=f"a{NUL}b"),
    form("reset-nul-email", "anonymous", "password_reset", CONTROL, email=f"chris@ex{NUL}.test"),
    form("reset-not-an-email", "anonymous", "password_reset", "valid email", email="not-mail"),
    form("reset-no-email", "anonymous", "password_reset", "This field is required", email=None),
    form(
        "reset-huge-email", "anonymous", "password_reset", "at most 254", email="a" * 250 + "@x.io"
    ),
    # --- accepting an invitation (the link is the key)
    form("invitation-nul-name", "anonymous", "invitation", CONTROL, full_name=f"Nadia{NUL}"),
    form("invitation-bidi-name", "anonymous", "invitation", CONTROL, full_name=f"{BIDI}Nadia"),
    form("invitation-no-name", "anonymous", "invitation", "This field is required", full_name=""),
    form(
        "invitation-passwords-differ",
        "anonymous",
        "invitation",
        "not the same",
        password_again="something else entirely",
    ),
    form(
        "invitation-short-password",
        "anonymous",
        "invitation",
        "too short",
        password="abc",
        password_again="abc",
    ),
    form(
        "invitation-nul-password",
        "anonymous",
        "invitation",
        "Null characters",
        password=f"correct{NUL}horse",
        password_again=f"correct{NUL}horse",
    ),
    # --- invitations
    form(
        "invite-nul-email", "clinic_admin", "clinic_invite", CONTROL, email=f"a{NUL}@example.test"
    ),
    form("invite-not-an-email", "clinic_admin", "clinic_invite", "valid email", email="nobody"),
    form("invite-unknown-role", "clinic_admin", "clinic_invite", "valid choice", role="owner"),
    form(
        "invite-org-admin-role-from-clinic",
        "clinic_admin",
        "clinic_invite",
        "valid choice",
        role="org_admin",
    ),
    form("invite-no-email", "clinic_admin", "clinic_invite", "This field is required", email=None),
    form("org-invite-nul-email", "org_admin", "org_invite", CONTROL, email=f"b{NUL}@example.test"),
    form("org-invite-list-like-email", "org_admin", "org_invite", "valid email", email="['a@b.c']"),
    form("operator-org-nul-name", "operator", "operator_org_create", CONTROL, name=f"Org{NUL}"),
    form("operator-org-no-name", "operator", "operator_org_create", "required", name=""),
    form(
        "operator-org-bad-admin-email",
        "operator",
        "operator_org_create",
        "valid email",
        admin_email="boss",
    ),
    # --- clinic settings
    form("clinic-create-nul-name", "org_admin", "clinic_create", CONTROL, name=f"East{NUL}side"),
    form("clinic-create-bidi-name", "org_admin", "clinic_create", CONTROL, name=f"East{BIDI}"),
    form("clinic-create-long-name", "org_admin", "clinic_create", "at most 120", name="E" * 121),
    form(
        "clinic-create-unknown-zone", "org_admin", "clinic_create", "valid choice", timezone="Mars"
    ),
    form(
        "clinic-create-unknown-currency",
        "org_admin",
        "clinic_create",
        "valid choice",
        currency="XXX",
    ),
    form("clinic-edit-nul-name", "clinic_admin", "clinic_edit", CONTROL, name=f"Harbour{NUL}"),
    form("clinic-edit-empty-name", "clinic_admin", "clinic_edit", "required", name=""),
    form(
        "clinic-edit-zone-with-nul",
        "clinic_admin",
        "clinic_edit",
        "valid choice",
        timezone=f"Australia/Sydney{NUL}",
    ),
    form(
        "clinic-edit-currency-while-connected",
        "clinic_admin",
        "clinic_edit",
        "Stripe account",
        currency="NZD",
    ),
    form("waiting-nul-message", "clinic_admin", "waiting_settings", CONTROL, message=f"Wait{NUL}"),
    form("waiting-bidi-terms", "clinic_admin", "waiting_settings", CONTROL, terms=f"Terms{BIDI}"),
    form(
        "waiting-long-message",
        "clinic_admin",
        "waiting_settings",
        "at most 500",
        message="w" * 501,
    ),
    form("waiting-hour-25", "clinic_admin", "waiting_settings", "HH:MM", opens_0="25:00"),
    form("waiting-hour-words", "clinic_admin", "waiting_settings", "HH:MM", opens_0="eight"),
    form("waiting-opens-only", "clinic_admin", "waiting_settings", "both times", closes_0=""),
    form(
        "waiting-closes-first",
        "clinic_admin",
        "waiting_settings",
        "close after they open",
        opens_0="17:00",
        closes_0="08:30",
    ),
    form("waiting-newline-in-hour", "clinic_admin", "waiting_settings", CONTROL, opens_0="08\n30"),
    form("waiting-no-terms", "clinic_admin", "waiting_settings", "required", terms=""),
    # --- payment settings (a section of the clinic's settings page)
    form(
        "pay-max-words",
        "clinic_admin",
        "payment_settings",
        "amount",
        **{"pay-payment_max_amount": "lots"},
    ),
    form(
        "pay-max-negative",
        "clinic_admin",
        "payment_settings",
        "amount",
        **{"pay-payment_max_amount": "-5.00"},
    ),
    form(
        "pay-max-huge",
        "clinic_admin",
        "payment_settings",
        "at most 20 characters",
        **{"pay-payment_max_amount": "9" * 25},
    ),
    form(
        "pay-max-too-many-decimals",
        "clinic_admin",
        "payment_settings",
        "amount",
        **{"pay-payment_max_amount": "10.001"},
    ),
    form(
        "pay-max-nul",
        "clinic_admin",
        "payment_settings",
        CONTROL,
        **{"pay-payment_max_amount": f"100{NUL}"},
    ),
    form(
        "pay-contact-bad-email",
        "clinic_admin",
        "payment_settings",
        "valid email",
        **{"pay-contact_email": "desk"},
    ),
    form(
        "pay-legal-name-bidi",
        "clinic_admin",
        "payment_settings",
        CONTROL,
        **{"pay-legal_name": f"Harbour{BIDI} GP"},
    ),
    form(
        "pay-address-nul",
        "clinic_admin",
        "payment_settings",
        CONTROL,
        **{"pay-address": f"10 Harbour St{NUL}"},
    ),
    form(
        "pay-abn-bad-check-digits",
        "clinic_admin",
        "payment_settings",
        "ABN",
        **{"pay-business_number": "51824753557"},
    ),
    form(
        "pay-provider-nul",
        "clinic_admin",
        "payment_settings",
        CONTROL,
        **{"pay-provider_{clinician_id}": f"2123{NUL}"},
    ),
    form(
        "pay-phone-escape",
        "clinic_admin",
        "payment_settings",
        CONTROL,
        **{"pay-contact_phone": f"+61{ESC}2"},
    ),
    # --- asking for an app
    form(
        "apps-other-orgs-clinic", "org_admin", "org_apps", "valid choice", clinics="{other_clinic}"
    ),
    form("apps-clinic-not-a-number", "org_admin", "org_apps", "valid value", clinics="harbour"),
    form("apps-huge-clinic-id", "org_admin", "org_apps", "valid choice", clinics=HUGE_ID),
    form("apps-no-clinic", "org_admin", "org_apps", "required", clinics=None),
    form("apps-nul-manager", "org_admin", "org_apps", CONTROL, manager_name=f"Olivia{NUL}"),
    form("apps-bad-manager-email", "org_admin", "org_apps", "valid email", manager_email="olivia"),
    form("apps-terms-not-accepted", "org_admin", "org_apps", "terms", accept_terms=None),
    # --- the refund form (a paid payment's detail page)
    form("refund-words-amount", "clinic_admin", "refund", "amount", amount="ten dollars"),
    form("refund-over-paid", "clinic_admin", "refund", "largest amount", amount="86.00"),
    form("refund-zero", "clinic_admin", "refund", "more than", amount="0.00"),
    form("refund-negative", "clinic_admin", "refund", "amount", amount="-5.00"),
    form("refund-huge-amount", "clinic_admin", "refund", "amount", amount=HUGE_NUMBER),
    form("refund-three-decimals", "clinic_admin", "refund", "amount", amount="1.005"),
    form("refund-nul-amount", "clinic_admin", "refund", CONTROL, amount=f"1{NUL}0"),
    form("refund-nul-note", "clinic_admin", "refund", CONTROL, note=f"Refund{NUL}"),
    form("refund-bidi-note", "clinic_admin", "refund", CONTROL, note=f"Refund{BIDI}"),
    form("refund-unknown-reason", "clinic_admin", "refund", "reason", reason="because"),
    form("refund-no-reason", "clinic_admin", "refund", "reason", reason=None),
    form("refund-no-form-token", "clinic_admin", "refund", "Reload the page", form_token=None),
]

GOOD_REQUEST = b'{"amount": "85.00", "description": "Consult"}'
JSON_CASES = [
    # --- request-payment: the clinician in the call
    body(
        "request-list-description",
        "clinician",
        "request_payment",
        "description must be text",
        b'{"amount": "85.00", "description": ["a", "b"]}',
    ),
    body(
        "request-number-amount",
        "clinician",
        "request_payment",
        "amount must be text",
        b'{"amount": 85, "description": "Consult"}',
    ),
    body(
        "request-float-amount",
        "clinician",
        "request_payment",
        "amount must be text",
        b'{"amount": 85.5, "description": "Consult"}',
    ),
    body(
        "request-4300-digit-amount",
        "clinician",
        "request_payment",
        "amount must be text",
        b'{"amount": ' + HUGE_NUMBER.encode() + b', "description": "Consult"}',
    ),
    body(
        "request-deep-nesting",
        "clinician",
        "request_payment",
        "description must be text",
        b'{"amount": "1.00", "description": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    ),
    body(
        "request-object-description",
        "clinician",
        "request_payment",
        "description must be text",
        b'{"amount": "85.00", "description": {"text": "Consult"}}',
    ),
    body(
        "request-null-amount",
        "clinician",
        "request_payment",
        "amount must be text",
        b'{"amount": null, "description": "Consult"}',
    ),
    body(
        "request-missing-description",
        "clinician",
        "request_payment",
        "description is missing",
        b'{"amount": "85.00"}',
    ),
    body(
        "request-unknown-field",
        "clinician",
        "request_payment",
        "Unknown field status",
        b'{"amount": "85.00", "description": "Consult", "status": "paid"}',
    ),
    body(
        "request-nul-description",
        "clinician",
        "request_payment",
        CONTROL,
        b'{"amount": "85.00", "description": "Con\\u0000sult"}',
    ),
    body(
        "request-bidi-description",
        "clinician",
        "request_payment",
        CONTROL,
        b'{"amount": "85.00", "description": "Con\\u202esult"}',
    ),
    body(
        "request-nul-payer",
        "clinician",
        "request_payment",
        CONTROL,
        b'{"amount": "85.00", "description": "Consult", "payer": "\\u0000"}',
    ),
    body(
        "request-invalid-utf8",
        "clinician",
        "request_payment",
        "not valid UTF-8",
        b'{"amount": "85.00", "description": "Con\xc3sult"}',
    ),
    body(
        "request-lone-surrogate",
        "clinician",
        "request_payment",
        "not valid JSON",
        b'{"amount": "85.00", "description": "\\udc00"}',
    ),
    body(
        "request-array-body",
        "clinician",
        "request_payment",
        "must be a JSON object",
        b'["85.00", "Consult"]',
    ),
    body("request-not-json", "clinician", "request_payment", "not valid JSON", b"amount=85.00"),
    body(
        "request-trailing-garbage",
        "clinician",
        "request_payment",
        "not valid JSON",
        GOOD_REQUEST + b"}",
    ),
    body(
        "request-words-amount",
        "clinician",
        "request_payment",
        "amount",
        b'{"amount": "eighty", "description": "Consult"}',
    ),
    body(
        "request-zero-amount",
        "clinician",
        "request_payment",
        "amount",
        b'{"amount": "0.00", "description": "Consult"}',
    ),
    body(
        "request-negative-amount",
        "clinician",
        "request_payment",
        "amount",
        b'{"amount": "-85.00", "description": "Consult"}',
    ),
    body(
        "request-over-the-limit",
        "clinician",
        "request_payment",
        "too large",
        b'{"amount": "1000000.00", "description": "Consult"}',
    ),
    body(
        "request-huge-digits-as-text",
        "clinician",
        "request_payment",
        "amount",
        b'{"amount": "' + HUGE_NUMBER.encode() + b'", "description": "Consult"}',
    ),
    body(
        "request-three-decimals",
        "clinician",
        "request_payment",
        "amount",
        b'{"amount": "85.001", "description": "Consult"}',
    ),
    body(
        "request-empty-description",
        "clinician",
        "request_payment",
        "what the payment is for",
        b'{"amount": "85.00", "description": "  "}',
    ),
    body(
        "request-payer-not-an-id",
        "clinician",
        "request_payment",
        "choose who pays",
        b'{"amount": "85.00", "description": "Consult", "payer": "someone"}',
    ),
    body(
        "request-payer-unknown",
        "clinician",
        "request_payment",
        "choose who pays",
        b'{"amount": "85.00", "description": "Consult", '
        b'"payer": "00000000-0000-0000-0000-000000000000"}',
    ),
    # --- cancel (the clinician who asked) and the payer's email and complete
    body("cancel-unknown-field", "clinician", "cancel", "Unknown field reason", b'{"reason": "x"}'),
    body("cancel-array", "clinician", "cancel", "must be a JSON object", b"[]"),
    body("cancel-not-json", "clinician", "cancel", "not valid JSON", b"{"),
    body("email-list", "patient", "payer_email", "email must be text", b'{"email": ["a@b.test"]}'),
    body("email-number", "patient", "payer_email", "email must be text", b'{"email": 7}'),
    body("email-missing", "patient", "payer_email", "email is missing", b"{}"),
    body("email-nul", "patient", "payer_email", CONTROL, b'{"email": "pat\\u0000@example.test"}'),
    body("email-invalid-utf8", "patient", "payer_email", "not valid UTF-8", b'{"email": "\xff"}'),
    body("email-not-an-address", "patient", "payer_email", "email", b'{"email": "pat"}'),
    body(
        "email-too-long",
        "patient",
        "payer_email",
        "email",
        b'{"email": "' + b"p" * 300 + b'@example.test"}',
    ),
    body(
        "email-deep",
        "patient",
        "payer_email",
        "email must be text",
        b'{"email": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    ),
    body("complete-unknown-field", "patient", "payer_complete", "Unknown field", b'{"paid": true}'),
    body("complete-string-body", "patient", "payer_complete", "must be a JSON object", b'"paid"'),
    body(
        "complete-huge-number",
        "patient",
        "payer_complete",
        "must be a JSON object",
        HUGE_NUMBER.encode(),
    ),
]

LIST_TARGETS = ("clinic_payments", "clinic_csv", "org_payments", "org_csv")
QUERY_CASES = [
    case
    for target, persona in (
        ("clinic_payments", "clinic_admin"),
        ("clinic_csv", "clinic_admin"),
        ("clinic_report", "clinic_admin"),
        ("org_payments", "org_admin"),
        ("org_csv", "org_admin"),
        ("org_report", "org_admin"),
    )
    for case in (
        query(f"{target}-huge-clinician", persona, target, "Unknown clinician", clinician=HUGE_ID),
        query(f"{target}-negative-clinician", persona, target, "Unknown clinician", clinician="-1"),
        query(f"{target}-arabic-digits", persona, target, "Unknown clinician", clinician="١٢"),
        query(f"{target}-bad-date", persona, target, "must be a date", **{"from": "2026-13-01"}),
        query(f"{target}-date-words", persona, target, "must be a date", to="yesterday"),
        query(
            f"{target}-date-before-2020", persona, target, "out of range", **{"from": "1999-01-01"}
        ),
        query(
            f"{target}-dates-reversed",
            persona,
            target,
            "after the end date",
            **{"from": "2026-02-01", "to": "2026-01-01"},
        ),
        query(f"{target}-nul-search", persona, target, "Remove the control", q=f"Pat{NUL}"),
        query(f"{target}-unknown-filter", persona, target, "Unknown filters", sort="amount"),
        query(f"{target}-huge-clinic", persona, target, "Unknown clinic", clinic=HUGE_ID),
    )
] + [
    query(
        "clinic_payments-unknown-status",
        "clinic_admin",
        "clinic_payments",
        "Unknown status",
        status="stolen",
    ),
    query(
        "clinic_payments-escape-search",
        "clinic_admin",
        "clinic_payments",
        "Remove the control",
        q=f"{ESC}[31m",
    ),
    query("clinic_payments-page-zero", "clinic_admin", "clinic_payments", "page", page="0"),
    query("clinic_payments-page-huge", "clinic_admin", "clinic_payments", "page", page=HUGE_ID),
    query("clinic_payments-page-words", "clinic_admin", "clinic_payments", "page", page="last"),
    query(
        "clinic_payments-clinician-as-clinician",
        "clinician",
        "clinic_payments",
        "Unknown clinician",
        clinician=HUGE_ID,
    ),
    query(
        "org_payments-other-orgs-clinic",
        "org_admin",
        "org_payments",
        "Unknown clinic",
        clinic="{other_clinic}",
    ),
    query(
        "org_payments-six-years",
        "org_admin",
        "org_payments",
        "at most five years",
        **{"from": "2020-01-01", "to": "2026-06-01"},
    ),
]

HTTP_CASES: list[HttpCase] = FORM_CASES + JSON_CASES + QUERY_CASES
