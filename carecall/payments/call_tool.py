"""Registers **Request payment** in the call's Apps and tools drawer (clinicians only), and the
payer's side (Pay now) on every call page of a clinic that has the Payment Gateway."""

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from carecall.calls.call_apps import CallApp, CallPage, call_app_register
from carecall.clinic_apps.models import AppKey
from carecall.clinic_apps.selectors import clinic_app_enabled_exists, clinic_app_is_enabled
from carecall.orgs.models import Clinic

PAYMENTS_TOOL_KEY = "payments"


def _enabled(clinic: Clinic) -> bool:
    # Shown once the app is enabled; a clinic without a connected account gets an explanation
    # in the panel rather than a missing tool, so the clinician knows whom to ask.
    return clinic_app_is_enabled(clinic, AppKey.PAYMENT_GATEWAY)


def _page_data(page: CallPage) -> dict[str, str]:
    """Stripe.js, the JSON endpoint of this page's payments (the payer's, by their link, on a
    patient's or guest's page; the visit's on a clinician's) and how long to wait for it."""
    if page.link_kind:
        api = reverse(
            "payments:payer_payments", kwargs={"kind": page.link_kind, "token": page.link_token}
        )
    else:
        api = reverse("payments:visit_payments", args=[page.clinic.pk, page.visit_id])
    # The page waits for an answer as long as the server may take at worst (each Stripe try
    # up to its timeout), and a margin; then it says so and lets the person try again.
    tries = settings.STRIPE_MAX_NETWORK_RETRIES + 1
    wait = settings.STRIPE_TIMEOUT_SECONDS * tries + 5
    return {"stripe-js": settings.STRIPE_JS_URL, "api-url": api, "request-timeout": str(wait)}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _csp() -> dict[str, list[str]]:
    """Stripe.js and its frames, and nothing else new (Stripe's documented CSP: its scripts
    and frames also come from subdomains of js.stripe.com, and 3-D Secure from hooks)."""
    js = _origin(settings.STRIPE_JS_URL)
    scripts, frames = [js], [js]
    if js == "https://js.stripe.com":
        scripts.append("https://*.js.stripe.com")
        frames += ["https://*.js.stripe.com", "https://hooks.stripe.com"]
    return {
        "script-src": scripts,
        "connect-src": [_origin(settings.STRIPE_API_BASE), js],
        "frame-src": frames,
    }


call_app_register(
    CallApp(
        key=PAYMENTS_TOOL_KEY,
        name=str(_("Request payment")),
        icon="card",
        open_to=frozenset({"clinician"}),
        is_enabled=_enabled,
        enabled_exists=lambda clinic_ref: clinic_app_enabled_exists(
            AppKey.PAYMENT_GATEWAY, clinic_ref
        ),
        page_scripts=("payments/payments.js",),
        page_styles=("payments/payments.css",),
        page_template="payments/_call_payments.html",
        page_data=_page_data,
        page_csp=_csp,
    )
)
