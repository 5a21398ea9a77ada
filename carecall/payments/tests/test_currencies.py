"""carecall/core/currencies.py: how typed amounts become minor units, and how they are shown."""

from __future__ import annotations

import pytest
from django.utils import translation

from carecall.core.currencies import amount_format, amount_parse, amount_to_major
from carecall.core.errors import ServiceError


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [
        ("85", "AUD", 8500),
        ("85.5", "AUD", 8550),
        ("85.00", "AUD", 8500),
        ("1,085.00", "AUD", 108500),
        ("AUD 85", "AUD", 8500),
        ("$85", "AUD", 8500),
        (" 0.50 ", "AUD", 50),
        ("0.30", "GBP", 30),
        ("999999.99", "USD", 99_999_999),
        ("5000", "JPY", 5000),
        ("50", "JPY", 50),
        ("99999999", "JPY", 99_999_999),
        ("100", "ISK", 10000),
        ("2,500", "ISK", 250000),
    ],
)
def test_amounts_people_type_become_minor_units(text: str, code: str, minor: int) -> None:
    assert amount_parse(text, code) == minor


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("5000.5", "JPY", "JPY amounts have no decimals."),
        ("5000.00", "JPY", "JPY amounts have no decimals."),
        ("100.50", "ISK", "ISK amounts are whole krónur."),
        ("100.5", "ISK", "ISK amounts are whole krónur."),
        ("85.001", "AUD", "AUD amounts have at most 2 decimals."),
        ("0.49", "AUD", "The smallest amount Stripe accepts is AUD 0.50."),
        ("0.29", "GBP", "The smallest amount Stripe accepts is GBP 0.30."),
        ("49", "JPY", "The smallest amount Stripe accepts is JPY 50."),
        ("99", "ISK", "The smallest amount Stripe accepts is ISK 100."),
        ("1000000.00", "AUD", "That amount is too large for one card payment."),
        ("100000000", "JPY", "That amount is too large for one card payment."),
        ("0", "AUD", "The amount must be more than zero."),
        ("-1", "AUD", "The amount must be more than zero."),
        ("", "AUD", "Enter the amount as a number, for example 85.00."),
        ("abc", "AUD", "Enter the amount as a number, for example 85.00."),
        ("NaN", "AUD", "Enter the amount as a number, for example 85.00."),
        ("Infinity", "AUD", "Enter the amount as a number, for example 85.00."),
    ],
)
def test_amounts_that_cannot_be_charged_are_refused_with_a_reason(
    text: str, code: str, message: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        amount_parse(text, code)
    assert refused.value.message == message
    assert refused.value.field == "amount"


def test_the_callers_maximum_applies_after_stripes_limits() -> None:
    assert amount_parse("200", "AUD", maximum=20000) == 20000
    with pytest.raises(ServiceError, match=r"AUD 200\.00"):
        amount_parse("200.01", "AUD", maximum=20000)
    with pytest.raises(ServiceError, match=r"JPY 20,000"):
        amount_parse("20001", "JPY", maximum=20000)


def test_unknown_currencies_are_a_programming_error_not_a_message() -> None:
    with pytest.raises(ValueError, match="unknown currency"):
        amount_parse("85", "XYZ")


@pytest.mark.parametrize("text", ["1e999999", "9e99999999"])
def test_an_absurd_exponent_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ServiceError) as refused:
        amount_parse(text, "AUD")
    assert refused.value.field == "amount"


@pytest.mark.parametrize(("text", "code"), [("85,50", "EUR"), ("85,5", "AUD"), ("1,0,0", "AUD")])
def test_a_comma_that_is_not_a_thousands_separator_is_refused_not_read_as_thousands(
    text: str, code: str
) -> None:
    """'85,50' is a European 85.50; reading it as 8,550.00 would charge a hundred times over."""
    with pytest.raises(ServiceError) as refused:
        amount_parse(text, code)
    assert refused.value.field == "amount"


@pytest.mark.parametrize(
    ("minor", "code", "shown"),
    [
        (8500, "AUD", "AUD 85.00"),
        (108500, "AUD", "AUD 1,085.00"),
        (99_999_999, "USD", "USD 999,999.99"),
        (50, "AUD", "AUD 0.50"),
        (5000, "JPY", "JPY 5,000"),
        (50, "JPY", "JPY 50"),
    ],
)
def test_amounts_are_shown_with_the_currencys_decimals_and_grouping(
    minor: int, code: str, shown: str
) -> None:
    assert amount_format(minor, code) == shown


def test_amounts_are_shown_in_the_active_locales_number_format() -> None:
    with translation.override("de"):
        assert amount_format(108500, "EUR") == "EUR 1.085,00"
        assert amount_format(5000, "JPY") == "JPY 5.000"
    with translation.override("en-au"):
        assert amount_format(108500, "EUR") == "EUR 1,085.00"


def test_plain_major_amounts_for_forms_and_csv_ignore_the_locale() -> None:
    with translation.override("de"):
        assert amount_to_major(108500, "EUR") == "1085.00"
    assert amount_to_major(5000, "JPY") == "5000"
    assert amount_to_major(10000, "ISK") == "100.00"


@pytest.mark.parametrize(
    ("code", "minor"), [("AUD", 123456), ("JPY", 123456), ("ISK", 123400), ("GBP", 30)]
)
def test_what_is_shown_reads_back_as_the_same_amount(code: str, minor: int) -> None:
    assert amount_parse(amount_format(minor, code), code) == minor
