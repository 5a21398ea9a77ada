"""The one place that knows how each currency is counted.

Amounts are integers in minor units everywhere. Stripe treats some currencies as zero-decimal and
has a minimum charge per currency (stripe.com/docs/currencies).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Currency:
    code: str
    name: str
    decimals: int  # Stripe's minor units
    minimum: int  # smallest charge Stripe accepts, in minor units

    @property
    def shown_decimals(self) -> int:
        """Krónur are whole for people, though Stripe counts them in hundredths."""
        return 0 if self.code == "ISK" else self.decimals


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


def currency_for(code: str) -> Currency:
    try:
        return CURRENCIES[code.upper()]
    except KeyError:
        raise ValueError(f"unknown currency {code!r}") from None


def amount_parse(
    text: str, code: str, *, maximum: int | None = None, minimum: int | None = None
) -> int:
    """'85', '85.5', '1,085.00' in `code` -> minor units, or a ServiceError saying what is wrong."""
    from decimal import Decimal, InvalidOperation

    from django.utils.translation import gettext as _t

    from carecall.core.errors import ServiceError

    currency = currency_for(code)
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if cleaned.upper().startswith(currency.code):
        cleaned = cleaned[3:]
    cleaned = cleaned.lstrip("$")
    if "," in cleaned:
        # Commas only as thousands separators: "85,50" must not become 8,550.
        if not re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
            raise ServiceError(
                _t("Write the amount with a point before the cents, for example 85.50."),
                field="amount",
            )
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ServiceError(
            _t("Enter the amount as a number, for example 85.00."), field="amount"
        ) from None
    if not value.is_finite():
        raise ServiceError(_t("Enter the amount as a number, for example 85.00."), field="amount")
    if value <= 0:
        raise ServiceError(_t("The amount must be more than zero."), field="amount")
    if value.adjusted() >= 9:  # checked before scaling: "1e999999" must not overflow
        raise ServiceError(_t("That amount is too large for one card payment."), field="amount")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > currency.decimals:
        if currency.decimals == 0:
            message = _t("%(code)s amounts have no decimals.") % {"code": currency.code}
        else:
            message = _t("%(code)s amounts have at most %(n)d decimals.") % {
                "code": currency.code,
                "n": currency.decimals,
            }
        raise ServiceError(message, field="amount")
    minor = int(value * (10**currency.decimals))
    if currency.code == "ISK" and minor % 100:
        raise ServiceError(_t("ISK amounts are whole krónur."), field="amount")
    smallest = currency.minimum if minimum is None else minimum
    if minor < smallest:
        raise ServiceError(
            _t("The smallest amount Stripe accepts is %(min)s.")
            % {"min": amount_format(smallest, currency.code)},
            field="amount",
        )
    if minor > 99_999_999:
        raise ServiceError(_t("That amount is too large for one card payment."), field="amount")
    if maximum is not None and minor > maximum:
        raise ServiceError(
            _t("The largest amount allowed here is %(max)s.")
            % {"max": amount_format(maximum, currency.code)},
            field="amount",
        )
    return minor


def amount_format(minor: int, code: str) -> str:
    """Minor units -> 'AUD 1,085.00', numbers formatted for the active locale."""
    from decimal import Decimal

    from django.utils.formats import number_format

    currency = currency_for(code)
    major = Decimal(minor) / (10**currency.decimals)
    number = number_format(
        major, decimal_pos=currency.shown_decimals, use_l10n=True, force_grouping=True
    )
    return f"{currency.code} {number}"


def amount_to_major(minor: int, code: str) -> str:
    """Minor units -> '1085.00' (plain, for forms and CSV)."""
    from decimal import Decimal

    currency = currency_for(code)
    return f"{Decimal(minor) / (10**currency.decimals):.{currency.decimals}f}"
