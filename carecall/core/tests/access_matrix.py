"""The declared answers of every route, per persona (test_access_matrix.py walks the URL
configuration and fails for a route without a row here). Columns in the order of EVERYONE;
LOGIN is a redirect to the sign-in page."""

from __future__ import annotations

LOGIN = "login"
ADMIN = "django-admin (staff only)"
# The root conftest's PERSONAS and the visit's patient (test_access_matrix checks the order).
EVERYONE = [
    "org_admin",
    "clinic_admin",
    "clinician",
    "other_clinician",
    "outsider",
    "operator",
    "anonymous",
    "patient",
]

# Endpoints that answer JSON: their errors must be JSON with a reason.
JSON_ROUTES = {
    "healthz",
    "payments:visit_payments",
    "payments:visit_payment_cancel",
    "payments:stripe_webhook",
    "payments:payer_payments",
    "payments:payer_payment",
    "payments:payer_email",
    "payments:payer_complete",
}

# Routes whose success is a redirect to the sign-in page (not a refusal: they may write).
SIGN_IN_IS_THE_ANSWER = {"accounts:sign_out"}

EXPECTED: dict[str, dict[str, list[object]]] = {
    ADMIN: {"GET": [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, 200, LOGIN, LOGIN]},
    "accounts:password_reset": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [400, 400, 400, 400, 400, 400, 400, 400],
    },
    "accounts:password_reset_complete": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [405, 405, 405, 405, 405, 405, 405, 405],
    },
    "accounts:password_reset_confirm": {
        "GET": [302, 302, 302, 302, 302, 302, 302, 302],
        "POST": [302, 302, 302, 302, 302, 302, 302, 302],
    },
    "accounts:password_reset_sent": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [405, 405, 405, 405, 405, 405, 405, 405],
    },
    "accounts:sign_in": {
        "GET": [302, 302, 302, 302, 302, 302, 200, 200],
        "POST": [302, 302, 302, 302, 302, 302, 400, 400],
    },
    "accounts:sign_out": {
        "GET": [405, 405, 405, 405, 405, 405, 405, 405],
        "POST": [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN],
    },
    "audit:operator": {
        "GET": [403, 403, 403, 403, 403, 200, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "audit:organisation": {
        "GET": [200, 403, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "calls:call": {
        "GET": [302, 302, 200, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "calls:entry": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [200, 200, 200, 200, 200, 200, 200, 200],
    },
    "calls:guest": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [200, 200, 200, 200, 200, 200, 200, 200],
    },
    "calls:join": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [302, 302, 302, 403, 404, 404, LOGIN, LOGIN],
    },
    "calls:visit": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [405, 405, 405, 405, 405, 405, 405, 405],
    },
    "calls:visit_leave": {
        "GET": [405, 405, 405, 405, 405, 405, 405, 405],
        "POST": [302, 302, 302, 302, 302, 302, 302, 302],
    },
    "calls:waiting_area": {
        "GET": [200, 200, 200, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "calls:waiting_area_settings": {
        "GET": [200, 200, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [200, 200, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "clinic_apps:clinic_apps": {
        "GET": [200, 200, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [200, 200, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "clinic_apps:operator_decide": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [403, 403, 403, 403, 403, 302, LOGIN, LOGIN],
    },
    "clinic_apps:operator_disable": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [403, 403, 403, 403, 403, 302, LOGIN, LOGIN],
    },
    "clinic_apps:operator_queue": {
        "GET": [403, 403, 403, 403, 403, 200, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "clinic_apps:organisation_apps": {
        "GET": [200, 403, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [200, 403, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "favicon.ico": {
        "GET": [302, 302, 302, 302, 302, 302, 302, 302],
        "POST": [405, 405, 405, 405, 405, 405, 405, 405],
    },
    "healthz": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [405, 405, 405, 405, 405, 405, 405, 405],
    },
    "javascript-catalog": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [405, 405, 405, 405, 405, 405, 405, 405],
    },
    "orgs:clinic": {
        "GET": [200, 200, 200, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "orgs:clinic_create": {
        "GET": [200, 403, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [200, 403, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "orgs:clinic_edit": {
        "GET": [200, 200, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [200, 200, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "orgs:clinic_invite": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [400, 400, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "orgs:clinic_member_remove": {
        "GET": [200, 200, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [302, 302, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "orgs:clinic_member_role": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [302, 302, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "orgs:clinic_members": {
        "GET": [200, 200, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "orgs:home": {
        "GET": [200, 200, 200, 200, 200, 200, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "orgs:invitation": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [200, 200, 200, 200, 200, 200, 400, 400],
    },
    "orgs:invitation_withdraw": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [302, 302, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "orgs:operator_organisation_create": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [403, 403, 403, 403, 403, 400, LOGIN, LOGIN],
    },
    "orgs:operator_organisations": {
        "GET": [403, 403, 403, 403, 403, 200, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "orgs:organisation": {
        "GET": [200, 403, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "orgs:organisation_admin_remove": {
        "GET": [200, 403, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [302, 403, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "orgs:organisation_invite": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [400, 403, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "payments:clinic_payments": {
        "GET": [200, 200, 200, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "payments:clinic_payments_csv": {
        "GET": [200, 200, 200, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "payments:clinic_report": {
        "GET": [200, 200, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "payments:connect_remove": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [302, 302, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "payments:connect_start": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [302, 302, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "payments:customer_payments": {
        "GET": [200, 200, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "payments:oauth_callback": {
        "GET": [302, 302, 302, 302, 302, 302, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "payments:org_payments": {
        "GET": [200, 403, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "payments:org_payments_csv": {
        "GET": [200, 403, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "payments:org_report": {
        "GET": [200, 403, 403, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "payments:payer_complete": {
        "GET": [405, 405, 405, 405, 405, 405, 405, 405],
        "POST": [200, 200, 200, 200, 200, 200, 200, 200],
    },
    "payments:payer_email": {
        "GET": [405, 405, 405, 405, 405, 405, 405, 405],
        "POST": [400, 400, 400, 400, 400, 400, 400, 400],
    },
    "payments:payer_payment": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [405, 405, 405, 405, 405, 405, 405, 405],
    },
    "payments:payer_payments": {
        "GET": [200, 200, 200, 200, 200, 200, 200, 200],
        "POST": [405, 405, 405, 405, 405, 405, 405, 405],
    },
    "payments:payer_receipt": {
        "GET": [404, 404, 404, 404, 404, 404, 404, 404],
        "POST": [405, 405, 405, 405, 405, 405, 405, 405],
    },
    "payments:payment_detail": {
        "GET": [200, 200, 200, 403, 404, 404, LOGIN, LOGIN],
        "POST": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
    },
    "payments:payment_refund": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [400, 400, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "payments:payment_resend_receipt": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [302, 302, 403, 403, 404, 404, LOGIN, LOGIN],
    },
    "payments:receipt": {
        "GET": [404, 404, 404, 404, 404, 404, 404, 404],
        "POST": [405, 405, 405, 405, 405, 405, 405, 405],
    },
    "payments:stripe_webhook": {
        "GET": [405, 405, 405, 405, 405, 405, 405, 405],
        "POST": [400, 400, 400, 400, 400, 400, 400, 400],
    },
    "payments:visit_payment_cancel": {
        "GET": [405, 405, 405, 405, 405, 405, LOGIN, LOGIN],
        "POST": [200, 200, 200, 403, 404, 404, LOGIN, LOGIN],
    },
    "payments:visit_payments": {
        "GET": [200, 200, 200, 403, 404, 404, LOGIN, LOGIN],
        "POST": [400, 400, 400, 403, 404, 404, LOGIN, LOGIN],
    },
}
