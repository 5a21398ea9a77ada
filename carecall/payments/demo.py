"""Demo history: a few weeks of payments at Northside Physio, made through stripe_sandbox.

Every payment goes the real way (PaymentIntent on the connected account, confirmed with a test
card as Stripe.js would, status read back from Stripe); only the timestamps are moved into the
past afterwards, so that the reports have something to show on first run.
"""

from __future__ import annotations

import contextlib
import random
import urllib.parse
import urllib.request
import zoneinfo
from datetime import date, datetime, timedelta
from html.parser import HTMLParser

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from carecall.accounts.models import User
from carecall.calls import services as calls
from carecall.calls.models import Participant, Visit
from carecall.clinic_apps.models import AppKey
from carecall.clinic_apps.selectors import clinic_app_is_enabled
from carecall.clinic_apps.services import app_request_create, app_request_decide
from carecall.orgs.models import Clinic
from carecall.payments import services
from carecall.payments.models import PaymentRequest, Refund, StripeConnection
from carecall.payments.refunds import refund_create

NORTHSIDE_ACCOUNT = "acct_1SbxNorthside001"
PATIENTS = [
    ("Ava", "Wilson"),
    ("Liam", "Chen"),
    ("Mia", "Kowalski"),
    ("Noah", "Singh"),
    ("Zoe", "Murphy"),
    ("Jack", "Nguyen"),
    ("Ella", "Haddad"),
    ("Leo", "Fraser"),
    ("Ruby", "Tanaka"),
    ("Oscar", "Patel"),
    ("Isla", "Brown"),
    ("Max", "Rossi"),
]
SERVICES = [
    ("Initial physiotherapy assessment", "120.00"),
    ("Follow-up session", "85.00"),
    ("Follow-up session", "85.00"),
    ("Exercise program review", "65.00"),
    ("Dry needling add-on", "30.00"),
]


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[str(a["name"])] = a.get("value") or ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _oauth_code(authorize_url: str, account_id: str) -> str:
    """Press Connect on the sandbox's consent page, as the clinic admin would."""
    with urllib.request.urlopen(authorize_url, timeout=10) as page:  # noqa: S310 - loopback sandbox
        form = _Form()
        form.feed(page.read().decode())
    data = urllib.parse.urlencode(
        {**form.fields, "account": account_id, "action": "connect"}
    ).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    parts = urllib.parse.urlsplit(authorize_url)
    post_url = f"{parts.scheme}://{parts.netloc}/oauth/authorize"
    try:
        opener.open(post_url, data=data, timeout=10)
    except urllib.error.HTTPError as redirect:
        location = redirect.headers["Location"]
        return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    raise RuntimeError("the sandbox did not redirect back with a code")


def _connect(clinic: Clinic, admin: User, operator: User) -> None:
    if not clinic_app_is_enabled(clinic, AppKey.PAYMENT_GATEWAY):
        request = app_request_create(
            actor=admin,
            organisation=clinic.organisation,
            app=AppKey.PAYMENT_GATEWAY,
            clinics=[clinic],
            manager_name=admin.get_full_name(),
            manager_email=admin.email,
            manager_phone="02 9000 0000",
            accept_terms=True,
        )
        app_request_decide(actor=operator, request=request, approve=True, comment="Demo history.")
    if not StripeConnection.objects.filter(clinic=clinic).exists():
        _state, url = services.connection_start(
            actor=admin,
            clinic=clinic,
            redirect_uri=f"{settings.SITE_URL}/payments/stripe/oauth/callback/",
        )
        services.connection_complete(
            actor=admin, clinic=clinic, code=_oauth_code(url, NORTHSIDE_ACCOUNT)
        )


def _pay(pr: PaymentRequest, card: str) -> None:
    """What the patient's Stripe.js does: confirm the PaymentIntent with a card."""
    client = stripe.StripeClient(
        settings.STRIPE_PUBLISHABLE_KEY or "pk_test_demo",
        base_addresses={"api": settings.STRIPE_API_BASE},
    )
    # A declined card leaves the request payable, as in real life.
    with contextlib.suppress(stripe.CardError):
        client.payment_intents.confirm(
            pr.payment_intent_id or "",
            {"payment_method": card, "client_secret": pr.client_secret},  # type: ignore[arg-type,typeddict-unknown-key,unused-ignore]
            {"stripe_account": pr.stripe_account_id},
        )
    services.payment_request_reconcile(payment_request=pr)


def demo_payments_seed(*, clinic_slug: str = "northside-physio", weeks: int = 3) -> int:
    """Create the history once; returns how many payment requests were made."""
    clinic = Clinic.objects.get(slug=clinic_slug)
    if PaymentRequest.objects.filter(clinic=clinic).exists():
        return 0
    admin = User.objects.get(email="olivia@demo-health.test")
    operator = User.objects.get(email="operator@carecall.test")
    clinician = User.objects.get(email="nina@demo-health.test")
    _connect(clinic, admin, operator)
    rng = random.Random(2026)
    now = timezone.now()
    made = 0
    for day in range(weeks * 7, 0, -1):
        when = now - timedelta(days=day)
        if when.weekday() == 6:
            continue
        for _ in range(rng.randint(0, 3)):
            first, last = rng.choice(PATIENTS)
            visit, _token = calls.visit_create(
                clinic=clinic, first_name=first, last_name=last, phone="", accepted_terms=True
            )
            calls.visit_join(actor=clinician, visit=visit)
            description, amount = rng.choice(SERVICES)
            pr = services.payment_request_create(
                actor=clinician, visit=visit, amount_text=amount, description=description
            )
            card = "pm_card_chargeDeclined" if rng.random() < 0.08 else "pm_card_visa"
            _pay(pr, card)
            calls.visit_end(actor=clinician, visit=visit)
            moment = when.replace(hour=rng.randint(8, 17), minute=rng.choice([0, 15, 30, 45]))
            _backdate(visit, pr, moment)
            made += 1
    for pr in PaymentRequest.objects.filter(clinic=clinic, status="paid").order_by("created_at")[
        :2
    ]:
        refund_create(
            actor=admin,
            payment_request=pr,
            amount_text="20.00",
            reason="requested_by_customer",
            note="Session cut short",
            form_token=f"demo-{pr.pk}",
        )
    return made


def _local_day(pr: PaymentRequest, moment: datetime) -> date:
    paid = moment + timedelta(minutes=10)
    return paid.astimezone(zoneinfo.ZoneInfo(pr.clinic.timezone)).date()


@transaction.atomic
def _backdate(visit: Visit, pr: PaymentRequest, moment: datetime) -> None:
    """Move a finished demo visit into the past (its audit entries keep their true time)."""
    later = moment + timedelta(minutes=20)
    Visit.objects.filter(pk=visit.pk).update(
        entered_at=moment, admitted_at=moment, status_changed_at=later, ended_at=later
    )
    Participant.objects.filter(visit=visit).update(
        created_at=moment, joined_at=moment, left_at=later
    )
    paid = PaymentRequest.objects.filter(pk=pr.pk, paid_at__isnull=False).exists()
    PaymentRequest.objects.filter(pk=pr.pk).update(
        created_at=moment,
        updated_at=later,
        expires_at=later + timedelta(days=7),
        **(
            {"paid_at": moment + timedelta(minutes=10), "paid_on": _local_day(pr, moment)}
            if paid
            else {}
        ),
    )
    Refund.objects.filter(payment_request=pr).update(created_at=later)
