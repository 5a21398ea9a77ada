"""Currency rules Stripe applies to amounts: which currencies exist, decimals, minimums, maximum."""

from __future__ import annotations

from .errors import StripeError

# Stripe presentment currencies (the common part of https://stripe.com/docs/currencies).
SUPPORTED = frozenset(
    [
        "usd",
        "aed",
        "afn",
        "all",
        "amd",
        "ang",
        "aoa",
        "ars",
        "aud",
        "awg",
        "azn",
        "bam",
        "bbd",
        "bdt",
        "bgn",
        "bif",
        "bmd",
        "bnd",
        "bob",
        "brl",
        "bsd",
        "bwp",
        "byn",
        "bzd",
        "cad",
        "cdf",
        "chf",
        "clp",
        "cny",
        "cop",
        "crc",
        "cve",
        "czk",
        "djf",
        "dkk",
        "dop",
        "dzd",
        "egp",
        "etb",
        "eur",
        "fjd",
        "fkp",
        "gbp",
        "gel",
        "gip",
        "gmd",
        "gnf",
        "gtq",
        "gyd",
        "hkd",
        "hnl",
        "htg",
        "huf",
        "idr",
        "ils",
        "inr",
        "isk",
        "jmd",
        "jpy",
        "kes",
        "kgs",
        "khr",
        "kmf",
        "krw",
        "kyd",
        "kzt",
        "lak",
        "lbp",
        "lkr",
        "lrd",
        "lsl",
        "mad",
        "mdl",
        "mga",
        "mkd",
        "mmk",
        "mnt",
        "mop",
        "mur",
        "mvr",
        "mwk",
        "mxn",
        "myr",
        "mzn",
        "nad",
        "ngn",
        "nio",
        "nok",
        "npr",
        "nzd",
        "pab",
        "pen",
        "pgk",
        "php",
        "pkr",
        "pln",
        "pyg",
        "qar",
        "ron",
        "rsd",
        "rub",
        "rwf",
        "sar",
        "sbd",
        "scr",
        "sek",
        "sgd",
        "shp",
        "sle",
        "sos",
        "srd",
        "std",
        "szl",
        "thb",
        "tjs",
        "top",
        "try",
        "ttd",
        "twd",
        "tzs",
        "uah",
        "ugx",
        "uyu",
        "uzs",
        "vnd",
        "vuv",
        "wst",
        "xaf",
        "xcd",
        "xof",
        "xpf",
        "yer",
        "zar",
        "zmw",
    ]
)

# Amounts in these are whole units (¥500 is amount=500).
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)

# ISK is zero-decimal at the card networks, but Stripe takes it as a two-decimal amount whose
# last two digits must be 00 (ISK 1,000 is amount=100000).
WHOLE_UNITS_ONLY = frozenset({"isk"})

# Minimum charge amounts in minor units, from Stripe's "minimum and maximum charge amounts".
MINIMUMS = {
    "usd": 50,
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
    "isk": 10000,
}
# Elsewhere Stripe converts to the settlement currency; 50 minor units is the sandbox's stand-in.
DEFAULT_MINIMUM = 50

# "The amount value supports up to eight digits."
MAXIMUM = 99_999_999


def decimals(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL else 2


def format_amount(amount: int, currency: str) -> str:
    if decimals(currency) == 0:
        return f"{amount:,} {currency}"
    return f"{amount / 100:,.2f} {currency}"


def check_currency(value: str, param: str = "currency") -> str:
    currency = value.lower()
    if currency not in SUPPORTED:
        raise StripeError(
            f"Invalid currency: {value}. Stripe currently supports these currencies: "
            + ", ".join(sorted(SUPPORTED)),
            param=param,
        )
    return currency


def check_amount(amount: int, currency: str, param: str = "amount") -> None:
    """Raise Stripe's error for an amount it would refuse in this currency."""
    if amount < 1:
        raise StripeError(
            "This value must be greater than or equal to 1.",
            code="parameter_invalid_integer",
            param=param,
        )
    if amount > MAXIMUM:
        raise StripeError(
            f"Amount must be no more than {format_amount(MAXIMUM, currency)}",
            code="amount_too_large",
            param=param,
        )
    minimum = MINIMUMS.get(currency, DEFAULT_MINIMUM)
    if amount < minimum:
        raise StripeError(
            f"Amount must be at least {format_amount(minimum, currency)}",
            code="amount_too_small",
            param=param,
        )
    if currency in WHOLE_UNITS_ONLY and amount % 100:
        raise StripeError(
            f"Invalid amount: {currency.upper()} amounts must be whole units (a multiple of 100).",
            code="parameter_invalid_integer",
            param=param,
        )
