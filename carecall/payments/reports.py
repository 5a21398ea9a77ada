"""Reads for the payments pages: filtering, totals, by clinician, by day, the chart and the CSV.

Totals are always per currency: amounts in different currencies are never added together.
Dates are days in the clinic's time zone.
"""

from __future__ import annotations

import csv
import zoneinfo
from collections import defaultdict
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.core.currencies import amount_format, amount_to_major
from carecall.core.text import (
    CONTROL_MESSAGE,
    TextInputsChecked,
    has_control_characters,
    text_has_control,
)
from carecall.orgs.models import Clinic
from carecall.payments.models import PaymentRequest, PaymentStatus

PAGE_SIZE = 50
KNOWN_FILTERS = {"from", "to", "status", "clinician", "q", "page", "clinic"}
EARLIEST = date(2020, 1, 1)
LONGEST_RANGE_DAYS = 366 * 5
# Ids are 64-bit in the database: a larger number would overflow the query (a 500), not match.
LARGEST_ID = 2**63 - 1
# A page number beyond the last page shows the last page; beyond this it is not a page number.
LARGEST_PAGE = 1_000_000
# The search is cut to this many characters (not refused); what is shown back is cut too.
SEARCH_LENGTH = 100
SHOWN_LENGTH = 40


@dataclass(frozen=True)
class PaymentFilters:
    clinics: tuple[int, ...]
    timezone: str
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    clinician: int | None = None
    q: str = ""
    only_requested_by: int | None = None  # clinicians see only their own requests


@dataclass
class FilterResult:
    filters: PaymentFilters
    errors: list[str] = field(default_factory=list)
    page: int = 1


def _shown(value: str) -> str:
    """A person's own input, safe to say back: control characters as \ufffd, cut short."""
    clean = "".join("\ufffd" if has_control_characters(c) else c for c in value[: SHOWN_LENGTH + 1])
    return clean if len(clean) <= SHOWN_LENGTH else clean[:SHOWN_LENGTH] + "…"


class _IdField(forms.Field):
    """A database id in a query string: digits only (no sign, spaces, decimals or other
    scripts' digits, which `int()` would take), within the 64-bit range the column holds."""

    def __init__(self, *, invalid: str, largest: int = LARGEST_ID) -> None:
        super().__init__(required=False, error_messages={"invalid": invalid})
        self.largest = largest

    def to_python(self, value: Any) -> int | None:
        text = str(value or "")
        if not text:
            return None
        if not (text.isascii() and text.isdigit() and len(text) <= len(str(self.largest))):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        number = int(text)
        if not 1 <= number <= self.largest:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class _DayField(forms.Field):
    """A day as YYYY-MM-DD between 2020 and a year from now."""

    def __init__(self, *, label: str) -> None:
        super().__init__(required=False, label=label)

    def to_python(self, value: Any) -> date | None:
        text = str(value or "")
        if not text:
            return None
        try:
            if len(text) != 10:
                raise ValueError(text)
            parsed = date.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(
                _("%(label)s must be a date like 2026-11-25.") % {"label": self.label},
                code="invalid",
            ) from None
        if parsed < EARLIEST or parsed > date.today() + timedelta(days=366):
            raise forms.ValidationError(
                _("%(label)s is out of range.") % {"label": self.label}, code="range"
            )
        return parsed


class _SearchField(forms.Field):
    """Free text: control characters (a NUL cannot even be sent to PostgreSQL) are refused;
    spaces are tidied and the text is cut to SEARCH_LENGTH, not refused for its length."""

    def __init__(self) -> None:
        super().__init__(required=False)

    def to_python(self, value: Any) -> str:
        text = str(value or "")
        if text_has_control(text):
            raise forms.ValidationError(CONTROL_MESSAGE, code="control")
        return " ".join(text.split())[:SEARCH_LENGTH]


class PaymentFiltersForm(TextInputsChecked, forms.Form):
    """The query string of the payments list, its CSV and the report. Every value is checked
    here, so a query only ever sees values the database can hold."""

    def __init__(self, data: Mapping[str, str], *, clinics: list[Clinic]) -> None:
        super().__init__(data)
        self.clinics = clinics
        self.fields["from"] = _DayField(label=_("The start date"))
        self.fields["to"] = _DayField(label=_("The end date"))
        self.fields["status"] = forms.Field(required=False)
        self.fields["clinician"] = _IdField(invalid=_("Unknown clinician."))
        self.fields["clinic"] = _IdField(invalid=_("Unknown clinic."))
        self.fields["q"] = _SearchField()
        self.fields["page"] = _IdField(
            invalid=_("The page must be a whole number from 1."), largest=LARGEST_PAGE
        )

    def clean_status(self) -> str:
        status = str(self.cleaned_data.get("status") or "")
        if status and status not in PaymentStatus.values:
            raise forms.ValidationError(
                _("Unknown status %(status)s.") % {"status": _shown(status)}, code="unknown"
            )
        return status

    def clean_clinic(self) -> int | None:
        chosen = self.cleaned_data.get("clinic")
        if chosen is not None and chosen not in {c.pk for c in self.clinics}:
            raise forms.ValidationError(_("Unknown clinic."), code="unknown")
        return chosen

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        unknown = sorted(set(self.data) - KNOWN_FILTERS)
        if unknown:
            self.add_error(
                None,
                _("Unknown filters: %(names)s.")
                % {"names": ", ".join(_shown(name) for name in unknown)},
            )
        date_from, date_to = data.get("from"), data.get("to")
        if date_from and date_to:
            if date_from > date_to:
                self.add_error(None, _("The start date is after the end date."))
            elif (date_to - date_from).days > LONGEST_RANGE_DAYS:
                self.add_error(None, _("Choose a period of at most five years."))
        return data

    def messages(self) -> list[str]:
        """Every problem as a sentence, the page's own (unknown filters, dates) first."""
        said = [str(m) for m in self.non_field_errors()]
        for name in self.fields:
            said.extend(str(m) for m in self.errors.get(name, []))
        return said


def filters_parse(
    params: Mapping[str, str],
    *,
    clinics: Iterable[Clinic],
    only_requested_by: int | None = None,
) -> FilterResult:
    """Read the page's query string; anything odd becomes a message instead of a crash."""
    clinic_list = list(clinics)
    form = PaymentFiltersForm(params, clinics=clinic_list)
    valid = form.is_valid()
    data = form.cleaned_data
    if data.get("clinic") is not None:
        clinic_list = [c for c in clinic_list if c.pk == data["clinic"]]
    filters = PaymentFilters(
        clinics=tuple(c.pk for c in clinic_list),
        timezone=filters_timezone(clinic_list),
        date_from=data.get("from"),
        date_to=data.get("to"),
        status=data.get("status") or "",
        clinician=data.get("clinician"),
        q=data.get("q") or "",
        only_requested_by=only_requested_by,
    )
    return FilterResult(
        filters=filters, errors=[] if valid else form.messages(), page=data.get("page") or 1
    )


def filters_timezone(clinics: Iterable[Clinic]) -> str:
    """The days of a page: the clinic's zone, or the platform's when its clinics are in several
    zones (or it has none yet); the page says which."""
    zones = {c.timezone for c in clinics}
    return zones.pop() if len(zones) == 1 else settings.TIME_ZONE


def _bounds(f: PaymentFilters) -> tuple[datetime | None, datetime | None]:
    tz = zoneinfo.ZoneInfo(f.timezone)
    start = datetime.combine(f.date_from, time.min, tzinfo=tz) if f.date_from else None
    end = (
        datetime.combine(f.date_to + timedelta(days=1), time.min, tzinfo=tz) if f.date_to else None
    )
    return start, end


def payments_query(f: PaymentFilters) -> QuerySet[PaymentRequest]:
    """Payment requests matching the filters, newest first, listed without a query per row."""
    qs = PaymentRequest.objects.filter(clinic_id__in=f.clinics)
    start, end = _bounds(f)
    if start:
        qs = qs.filter(created_at__gte=start)
    if end:
        qs = qs.filter(created_at__lt=end)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.clinician:
        qs = qs.filter(requested_by_id=f.clinician)
    if f.only_requested_by:
        qs = qs.filter(requested_by_id=f.only_requested_by)
    if f.q:
        # One column kept by PaymentRequest.save(): no joins while searching 100,000 rows.
        for word in f.q.lower().split():
            qs = qs.filter(search_text__contains=word)
    return qs.select_related("clinic", "visit", "requested_by", "payer").order_by(
        "-created_at", "-id"
    )


# ---------------------------------------------------------------------------- report


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    taken: int
    refunded: int
    count: int

    @property
    def net(self) -> int:
        return self.taken - self.refunded

    @property
    def average(self) -> int:
        return round(self.taken / self.count) if self.count else 0

    @property
    def taken_display(self) -> str:
        return amount_format(self.taken, self.currency)

    @property
    def refunded_display(self) -> str:
        return amount_format(self.refunded, self.currency)

    @property
    def net_display(self) -> str:
        return amount_format(self.net, self.currency)

    @property
    def average_display(self) -> str:
        return amount_format(self.average, self.currency)


@dataclass(frozen=True)
class TakingsRow:
    """One line of a report table: what one clinician, or one clinic, took in one currency."""

    name: str
    currency: str
    count: int
    taken: int
    refunded: int

    @property
    def taken_display(self) -> str:
        return amount_format(self.taken, self.currency)

    @property
    def refunded_display(self) -> str:
        return amount_format(self.refunded, self.currency)

    @property
    def net_display(self) -> str:
        return amount_format(self.taken - self.refunded, self.currency)


@dataclass(frozen=True)
class DayRow:
    day: date
    currency: str
    count: int
    taken: int

    @property
    def taken_display(self) -> str:
        return amount_format(self.taken, self.currency)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str = ""  # the day's takings, written by the bar
    # Where the value goes: above a wide enough bar, written across; on a narrow bar written
    # upwards (rotated), inside the bar when it is tall enough to hold it, else above it.
    label_x: float = 0
    label_y: float = 0
    rotated: bool = False
    inside: bool = False


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    currency: str
    width: int
    height: int
    bars: list[Bar]
    max_label: str
    first: date
    last: date
    # The value axis (0, half, top); each non-empty bar carries its value (see Bar).
    ticks: list[Tick] = field(default_factory=list)
    plot_left: int = 0


@dataclass(frozen=True)
class Report:
    totals: list[CurrencyTotals]
    by_clinic: list[TakingsRow]
    by_clinician: list[TakingsRow]
    by_day: list[DayRow]
    charts: list[Chart]


def _paid(f: PaymentFilters) -> QuerySet[PaymentRequest]:
    """Paid requests, counted on the day they were paid.

    `paid_on` is set exactly when a request is paid (and stays through refunds), so "paid"
    is `paid_on IS NOT NULL`: the report index then yields rows already in day order.
    """
    qs = PaymentRequest.objects.filter(clinic_id__in=f.clinics, paid_on__isnull=False)
    # paid_on is already the day in the clinic's own time zone.
    if f.date_from:
        qs = qs.filter(paid_on__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(paid_on__lte=f.date_to)
    if f.clinician:
        qs = qs.filter(requested_by_id=f.clinician)
    if f.only_requested_by:
        qs = qs.filter(requested_by_id=f.only_requested_by)
    return qs


def report_build(f: PaymentFilters) -> Report:
    """One grouped query (by day, currency and clinician) over the covering index; the three
    tables are added up from its few rows here, so 100,000 requests are read once, not thrice."""
    rows = list(
        _paid(f)
        .values("paid_on", "currency", "requested_by_id", "clinic_id", "clinic__name")
        .annotate(taken=Sum("amount"), refunded=Sum("amount_refunded"), count=Count("id"))
        .order_by()
    )
    names = {
        u.pk: u.get_full_name()
        for u in User.objects.filter(pk__in={r["requested_by_id"] for r in rows})
    }
    clinic_names = {r["clinic_id"]: r["clinic__name"] for r in rows}  # no query of its own
    sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        for key in (
            ("currency", r["currency"]),
            ("clinician", r["requested_by_id"], r["currency"]),
            ("clinic", r["clinic_id"], r["currency"]),
            ("day", r["paid_on"], r["currency"]),
        ):
            total = sums[key]
            total[0] += r["taken"] or 0
            total[1] += r["refunded"] or 0
            total[2] += r["count"]
    totals = [
        CurrencyTotals(currency=str(k[1]), taken=v[0], refunded=v[1], count=v[2])
        for k, v in sorted(sums.items(), key=lambda kv: str(kv[0][1]))
        if k[0] == "currency"
    ]
    by_clinician = sorted(
        (
            TakingsRow(
                name=names.get(k[1], "?"), currency=str(k[2]), count=v[2], taken=v[0], refunded=v[1]
            )
            for k, v in sums.items()
            if k[0] == "clinician"
        ),
        key=lambda c: (-c.taken, c.name),
    )
    by_clinic = sorted(
        (
            TakingsRow(
                name=clinic_names.get(k[1], "?"),
                currency=str(k[2]),
                count=v[2],
                taken=v[0],
                refunded=v[1],
            )
            for k, v in sums.items()
            if k[0] == "clinic"
        ),
        key=lambda c: (c.name, c.currency),
    )
    by_day = sorted(
        (
            DayRow(day=k[1], currency=str(k[2]), count=v[2], taken=v[0])
            for k, v in sums.items()
            if k[0] == "day"
        ),
        key=lambda d: (d.day, d.currency),
    )
    return Report(
        totals=totals,
        by_clinic=by_clinic,
        by_clinician=by_clinician,
        by_day=by_day,
        charts=_charts(by_day, f),
    )


def _charts(
    days: list[DayRow], f: PaymentFilters, width: int = 720, height: int = 220
) -> list[Chart]:
    """One bar chart of daily takings per currency, drawn as SVG on the server."""
    per_currency: dict[str, dict[date, int]] = defaultdict(dict)
    for row in days:
        per_currency[row.currency][row.day] = row.taken
    charts = []
    for currency, values in sorted(per_currency.items()):
        first = f.date_from or min(values)
        last = f.date_to or max(values)
        span = [first + timedelta(days=i) for i in range((last - first).days + 1)][-366:]
        top = max(values.values()) or 1
        left = 70  # room for the value axis' labels
        slot = (width - left) / max(1, len(span))
        plot = height - 40  # room above for value labels and below for the date axis
        wide = slot >= 40
        bars = []
        for i, day in enumerate(span):
            amount = values.get(day, 0)
            h = (amount / top) * plot
            x = left + i * slot + slot * 0.1
            y = height - 20 - h
            value = amount_to_major(amount, currency) if amount else ""
            # About 7 units a character at the chart's 11-unit type, and a little air.
            inside = not wide and h >= 8 + 7 * len(value)
            bars.append(
                Bar(
                    x=round(x, 2),
                    y=round(y, 2),
                    width=round(max(1.0, slot * 0.8), 2),
                    height=round(h, 2),
                    label=f"{day.isoformat()}: {amount_format(amount, currency)}",
                    value=value,
                    label_x=round(x + slot * 0.4, 2),
                    label_y=round(y + 4 if inside else y - 4, 2),
                    rotated=not wide,
                    inside=inside,
                )
            )
        charts.append(
            Chart(
                currency=currency,
                width=width,
                height=height,
                bars=bars,
                max_label=amount_format(top, currency),
                first=span[0],
                last=span[-1],
                ticks=[
                    Tick(
                        y=round(height - 20 - plot * share, 2),
                        label=amount_format(int(top * share), currency),
                    )
                    for share in (0, 0.5, 1)
                ],
                plot_left=left,
            )
        )
    return charts


# ---------------------------------------------------------------------------- CSV

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; make them plain text."""
    return "'" + value if value.startswith(_FORMULA_START) else value


CSV_HEADER = (
    "reference",
    "requested_at",
    "paid_at",
    "clinic",
    "patient",
    "payer",
    "clinician",
    "description",
    "currency",
    "amount",
    "refunded",
    "status",
    "card_brand",
    "card_last4",
    "stripe_payment_intent",
)
# Rows per chunk of the streamed export: big enough that the chunks are not one per row,
# small enough that the first bytes leave at once and memory stays flat however many rows.
CSV_ROWS_PER_CHUNK = 200


class _Line:
    """csv.writer's file: writerow() hands back the line it wrote instead of keeping it."""

    def write(self, value: str) -> str:
        return value


_CSV_LINE = csv.writer(_Line(), lineterminator="\r\n")


def _csv_row(pr: PaymentRequest, tz: zoneinfo.ZoneInfo) -> str:
    line: str = _CSV_LINE.writerow(
        [
            pr.reference,
            pr.created_at.astimezone(tz).isoformat(timespec="seconds"),
            pr.paid_at.astimezone(tz).isoformat(timespec="seconds") if pr.paid_at else "",
            csv_safe(pr.clinic.name),
            csv_safe(pr.visit.display_name),
            csv_safe(pr.payer.display_name),
            csv_safe(pr.requested_by.get_full_name()),
            csv_safe(pr.description),
            pr.currency,
            amount_to_major(pr.amount, pr.currency),
            amount_to_major(pr.amount_refunded, pr.currency),
            pr.status,
            pr.card_brand,
            pr.card_last4,
            pr.payment_intent_id or "",
        ]
    )
    return line


def _csv_header() -> str:
    """UTF-8 with a BOM (Excel opens it right), ISO dates, amounts as decimals."""
    line: str = _CSV_LINE.writerow(CSV_HEADER)
    return "\ufeff" + line


def csv_export(rows: Iterable[PaymentRequest], *, timezone: str) -> str:
    """The whole export as one string (for a few rows; the view streams csv_export_stream)."""
    tz = zoneinfo.ZoneInfo(timezone)
    return _csv_header() + "".join(_csv_row(pr, tz) for pr in rows)


async def csv_export_stream(
    rows: AsyncIterable[PaymentRequest], *, timezone: str
) -> AsyncIterator[str]:
    """The export in chunks as the rows arrive from the database (QuerySet.aiterator), so a
    year of payments neither waits to be built nor sits in memory; under ASGI Django sends
    each chunk as it is yielded (a sync iterator would be collected into a list first)."""
    tz = zoneinfo.ZoneInfo(timezone)
    yield _csv_header()
    chunk: list[str] = []
    async for pr in rows:
        chunk.append(_csv_row(pr, tz))
        if len(chunk) >= CSV_ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk.clear()
    if chunk:
        yield "".join(chunk)
