"""A clinic's waiting-area settings, kept in `Clinic.waiting_area` (JSON) and read through here.

Opening hours are in the clinic's own time zone: a list of (weekday, "HH:MM", "HH:MM") ranges,
weekday 0 = Monday. No ranges at all means "open whenever switched on".
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import asdict, dataclass, field
from datetime import datetime, time

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from carecall.core.errors import ServiceError
from carecall.orgs.models import Clinic

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Lazy: translated for whoever reads them, until the clinic saves its own text.
DEFAULT_MESSAGE: Promise = gettext_lazy("Please wait. A clinician will join you shortly.")
DEFAULT_TERMS: Promise = gettext_lazy(
    "This video consultation is private and is not recorded. Your details are used only by "
    "the clinic for this consultation."
)


@dataclass(frozen=True)
class OpeningHours:
    weekday: int
    opens: str
    closes: str


@dataclass(frozen=True)
class WaitingAreaSettings:
    is_on: bool = True
    message: str = field(default_factory=lambda: str(DEFAULT_MESSAGE))
    terms: str = field(default_factory=lambda: str(DEFAULT_TERMS))
    require_first_name: bool = True
    require_last_name: bool = True
    require_phone: bool = False
    hours: tuple[OpeningHours, ...] = field(default_factory=tuple)

    @classmethod
    def for_clinic(cls, clinic: Clinic) -> WaitingAreaSettings:
        data = dict(clinic.waiting_area or {})
        hours = tuple(OpeningHours(**h) for h in data.pop("hours", []))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(hours=hours, **known)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["hours"] = [asdict(h) for h in self.hours]
        return data

    def validate(self) -> None:
        if len(self.message) > 500:
            raise ServiceError(
                _("The waiting message can be at most 500 characters."), field="message"
            )
        if len(self.terms) > 4000:
            raise ServiceError(_("The terms can be at most 4,000 characters."), field="terms")
        for h in self.hours:
            if h.weekday not in range(7):
                raise ServiceError(_("Opening hours name an unknown day."), field="hours")
            if not (_HHMM.match(h.opens) and _HHMM.match(h.closes)):
                raise ServiceError(
                    _("Write opening hours as HH:MM, for example 08:30."), field="hours"
                )
            if h.opens >= h.closes:
                raise ServiceError(
                    _("Opening hours must close after they open (%(o)s–%(c)s).")
                    % {"o": h.opens, "c": h.closes},
                    field="hours",
                )

    def is_open(self, clinic: Clinic, at: datetime | None = None) -> bool:
        if not self.is_on:
            return False
        if not self.hours:
            return True
        local = (at or timezone.now()).astimezone(zoneinfo.ZoneInfo(clinic.timezone))
        now = local.time().replace(second=0, microsecond=0)
        return any(
            h.weekday == local.weekday()
            and time.fromisoformat(h.opens) <= now < time.fromisoformat(h.closes)
            for h in self.hours
        )


WEEKDAYS: list[tuple[int, Promise]] = [
    (0, gettext_lazy("Monday")),
    (1, gettext_lazy("Tuesday")),
    (2, gettext_lazy("Wednesday")),
    (3, gettext_lazy("Thursday")),
    (4, gettext_lazy("Friday")),
    (5, gettext_lazy("Saturday")),
    (6, gettext_lazy("Sunday")),
]
