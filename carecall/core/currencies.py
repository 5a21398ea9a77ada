"""The one place that knows how each currency is counted.

Amounts are integers in minor units everywhere. Stripe treats some currencies as zero-decimal and
has a minimum charge per currency (stripe.com/docs/currencies).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Currency:
    code: str
    name: str
    decimals: int
    minimum: int  # smallest charge Stripe accepts, in minor units


CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in [
        Currency("AUD", str(_("Australian dollar")), 2, 50),
        Currency("NZD", str(_("New Zealand dollar")), 2, 50),
        Currency("USD", str(_("US dollar")), 2, 50),
        Currency("CAD", str(_("Canadian dollar")), 2, 50),
        Currency("GBP", str(_("Pound sterling")), 2, 30),
        Currency("EUR", str(_("Euro")), 2, 50),
        # Stripe counts ISK in hundredths that must end in 00.
        Currency("ISK", str(_("Icelandic króna")), 2, 10000),
        Currency("JPY", str(_("Japanese yen")), 0, 50),
    ]
}

CURRENCY_CHOICES = [(code, f"{code} — {c.name}") for code, c in CURRENCIES.items()]
