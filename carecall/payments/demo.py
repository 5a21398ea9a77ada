"""Demo history: a few weeks of payments at Northside Physio, made through stripe_sandbox.

Every payment goes the real way (PaymentIntent on the connected account, confirmed with a test
card over HTTP as Stripe.js would, status read back from Stripe), with the process clock set to
the demo moment (`_DemoClock`, which travels it with time-machine), so visits, requests,
payments, refunds and the audit trail all carry the same past times and the reports and
timelines have something coherent to show on first run.
"""

from __future__ import annotations

import contextlib
import random
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from html.parser import HTMLParser

import time_machine
from django.conf import settings
from django.utils import timezone

from carecall.accounts.models import User
from carecall.calls import services as calls
from carecall.calls.models import Visit
from carecall.clinic_apps.models import AppKey
from carecall.clinic_apps.selectors import clinic_app_is_enabled
from carecall.clinic_apps.services import app_request_create, app_request_decide
from carecall.orgs.models import Clinic
from carecall.payments.clinic_settings import clinic_payment_settings_update, payment_max_text
from carecall.payments.models import (
    ClinicReceiptDetails,
    PaymentRequest,
    PaymentStatus,
    StripeConnection,
)
from carecall.payments.services.connection import connection_complete, connection_start
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.services.refunds import refund_create
from carecall.payments.services.requests import payment_request_create, payment_request_set_email

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
        _state, url = connection_start(
            actor=admin,
            clinic=clinic,
            redirect_uri=f"{settings.SITE_URL}/payments/stripe/oauth/callback/",
        )
        connection_complete(actor=admin, clinic=clinic, code=_oauth_code(url, NORTHSIDE_ACCOUNT))


def _pay(pr: PaymentRequest, card: str) -> None:
    """What the patient's Stripe.js does: confirm the PaymentIntent with a card, over plain HTTP
    with the publishable key, the clinic's account and the client secret (never the secret
    key; only `stripe_gateway` speaks to Stripe with the SDK). A declined card leaves the
    request payable, as in real life; Stripe's answer is then read back by the server."""
    data = urllib.parse.urlencode(
        {"payment_method": card, "client_secret": pr.client_secret}
    ).encode()
    confirm = urllib.request.Request(  # noqa: S310 - the demo's loopback stripe_sandbox
        f"{settings.STRIPE_API_BASE}/v1/payment_intents/{pr.payment_intent_id}/confirm",
        data=data,
        method="POST",
        headers={
            "Authorization": f"Bearer {settings.STRIPE_PUBLISHABLE_KEY or 'pk_test_demo'}",
            "Stripe-Account": pr.stripe_account_id,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urllib.request.urlopen(confirm, timeout=10):  # noqa: S310
            pass
    except urllib.error.HTTPError as refused:
        if refused.code != 402:  # 402: the card was declined
            raise
    payment_request_reconcile(payment_request=pr)


class _DemoClock:
    """The process clock, travelled into the past while the demo history is made (time-machine).

    Everything CareCall records (visit and participant times, the request, when it was paid,
    the audit trail, refunds) is then written once, at the demo moment, by the same services a
    real call uses, so every page and timeline agrees; the embedded stripe_sandbox stamps its
    objects with the same moments. The clock stands still between moves (nothing here waits on
    it: sockets and sleeps use the monotonic clock), and it never reaches the real present.
    Only `carecall demo` uses it, before the server and the worker start: webhooks the sandbox
    tries to send meanwhile find no server and are retried, signed at the real time, later.
    """

    def __init__(self) -> None:
        self._latest = timezone.now() - timedelta(minutes=1)
        self._traveller: time_machine.Coordinates | None = None

    def _coordinates(self) -> time_machine.Coordinates:
        if self._traveller is None:
            raise RuntimeError("the demo clock moves only inside running()")
        return self._traveller

    def set(self, moment: datetime) -> None:
        self._coordinates().move_to(min(moment, self._latest))

    def advance(self, minutes: float) -> None:
        self._coordinates().shift(timedelta(minutes=minutes))

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with time_machine.travel(self._latest, tick=False) as traveller:
            self._traveller = traveller
            try:
                yield
            finally:
                self._traveller = None


# What real clinics put on their receipts, so the demo's receipts look like real ones: legal
# name, address, ABN (valid check digits) and each clinician's provider number.
DEMO_RECEIPT_DETAILS = {
    "harbour-gp": (
        "Harbour GP Pty Ltd",
        "Suite 3, 88 Harbour Street\nSydney NSW 2000",
        "53 004 085 616",
        {"chris@demo-health.test": "2426591B"},
    ),
    "northside-physio": (
        "Northside Physio Pty Ltd",
        "Level 1, 20 Pacific Highway\nSt Leonards NSW 2065",
        "51 824 753 556",
        {"nina@demo-health.test": "4021735J"},
    ),
}


def demo_receipt_details_seed() -> None:
    """Once per clinic, through the settings service (checked and audited, as an admin would)."""
    admin = User.objects.get(email="olivia@demo-health.test")
    for slug, (legal_name, address, abn, providers) in DEMO_RECEIPT_DETAILS.items():
        clinic = Clinic.objects.filter(slug=slug).first()
        if clinic is None or ClinicReceiptDetails.objects.filter(clinic=clinic).exists():
            continue
        numbers = dict(User.objects.filter(email__in=providers).values_list("pk", "email"))
        clinic_payment_settings_update(
            actor=admin,
            clinic=clinic,
            payment_max_amount=payment_max_text(clinic),
            contact_email=clinic.contact_email,
            contact_phone=clinic.contact_phone,
            legal_name=legal_name,
            address=address,
            business_number=abn,
            provider_numbers={pk: providers[email] for pk, email in numbers.items()},
        )


def demo_payments_seed(*, clinic_slug: str = "northside-physio", weeks: int = 3) -> int:
    """Create the history once (and the clinics' receipt details before it); returns how many
    payment requests were made."""
    demo_receipt_details_seed()
    clinic = Clinic.objects.get(slug=clinic_slug)
    if PaymentRequest.objects.filter(clinic=clinic).exists():
        return 0
    admin = User.objects.get(email="olivia@demo-health.test")
    operator = User.objects.get(email="operator@carecall.test")
    clinician = User.objects.get(email="nina@demo-health.test")
    rng = random.Random(2026)
    local = zoneinfo.ZoneInfo(clinic.timezone)
    today = timezone.now().astimezone(local).date()
    clock = _DemoClock()
    made: list[PaymentRequest] = []
    with clock.running():
        # The clinic joined (app approved, Stripe connected) the day before its history starts.
        start = today - timedelta(days=weeks * 7 + 1)
        clock.set(datetime.combine(start, time(9, 0), tzinfo=local))
        _connect(clinic, admin, operator)
        for days_ago in range(weeks * 7, 0, -1):
            day = today - timedelta(days=days_ago)
            if day.weekday() == 6:  # closed on Sundays
                continue
            hours = sorted(rng.sample(range(8, 18), rng.randint(0, 3)))
            for hour in hours:
                clock.set(
                    datetime.combine(day, time(hour, rng.choice([0, 15, 30, 45])), tzinfo=local)
                )
                made.append(_demo_visit(clinic, clinician, rng, clock))
        paid = [pr for pr in made if pr.status == PaymentStatus.PAID][:2]
        for pr in paid:
            assert pr.paid_at is not None
            clock.set(pr.paid_at + timedelta(days=1, hours=2))  # the patient called next day
            refund_create(
                actor=admin,
                payment_request=pr,
                amount_text="20.00",
                reason="requested_by_customer",
                note="Session cut short",
                form_token=f"demo-{pr.pk}",
            )
    return len(made)


def _demo_visit(
    clinic: Clinic, clinician: User, rng: random.Random, clock: _DemoClock
) -> PaymentRequest:
    """One call: the patient enters, the clinician joins, asks for a payment, it is paid (or
    declined), the call ends."""
    first, last = rng.choice(PATIENTS)
    visit, _token = calls.visit_create(
        clinic=clinic, first_name=first, last_name=last, phone="", accepted_terms=True
    )
    clock.advance(2)
    calls.visit_join(actor=clinician, visit=visit)
    clock.advance(12)
    description, amount = rng.choice(SERVICES)
    pr = payment_request_create(
        actor=clinician, visit=visit, amount_text=amount, description=description
    )
    clock.advance(2)
    # The patient gives an email for the receipt in the payment form, as everyone does.
    payment_request_set_email(
        payment_request=pr, email=f"{first}.{last}@example.test".lower().replace("'", "")
    )
    _pay(pr, "pm_card_chargeDeclined" if rng.random() < 0.08 else "pm_card_visa")
    clock.advance(3)
    calls.visit_end(actor=clinician, visit=Visit.objects.get(pk=visit.pk))
    pr.refresh_from_db()
    return pr
