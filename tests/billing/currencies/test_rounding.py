"""Rounding rules: a table of cases in twelve currencies, Stripe's steps and minimums."""

from decimal import Decimal

import pytest

from billing.currencies.limits import MINIMUM_CHARGE, MINIMUM_SOURCE, amount_step, minimum_charge
from billing.currencies.rounding import RoundingRule, round_price
from billing.money import exponent

# (currency, converted amount in major units, mode, charm ending, expected minor units)
CASES = [
    # USD: cents; charm .99; ties go up; never 0
    ("usd", "8.7549", "nearest", "", 875),
    ("usd", "8.755", "nearest", "", 876),
    ("usd", "12.34", "nearest", "99", 1199),
    ("usd", "12.34", "up", "99", 1299),
    ("usd", "12.34", "down", "99", 1199),
    ("usd", "0.004", "up", "", 1),
    ("usd", "0.20", "down", "99", 99),
    # EUR: whole euros, ...90
    ("eur", "10.00", "nearest", "00", 1000),
    ("eur", "10.49", "nearest", "00", 1000),
    ("eur", "10.50", "nearest", "00", 1100),
    ("eur", "9.991", "nearest", "90", 990),
    # GBP
    ("gbp", "7.005", "up", "", 701),
    ("gbp", "6.50", "down", "49", 649),
    # JPY: no minor unit; …9, …900, tens
    ("jpy", "1234.5", "nearest", "", 1235),
    ("jpy", "1234", "nearest", "900", 900),
    ("jpy", "1234", "up", "900", 1900),
    ("jpy", "1450", "nearest", "900", 1900),
    ("jpy", "1234", "nearest", "9", 1239),
    ("jpy", "1231", "nearest", "9", 1229),
    ("jpy", "1234", "nearest", "0", 1230),
    # KRW: no minor unit
    ("krw", "11000", "nearest", "900", 10900),
    ("krw", "12345.6", "nearest", "000", 12000),
    ("krw", "12345.6", "nearest", "", 12346),
    # KWD: three decimals, and Stripe wants the last digit 0
    ("kwd", "2.7054", "nearest", "", 2710),
    ("kwd", "2.7049", "nearest", "", 2700),
    ("kwd", "2.705", "nearest", "", 2710),
    ("kwd", "2.7001", "up", "", 2710),
    ("kwd", "2.5", "nearest", "990", 2990),
    # BHD: three decimals too
    ("bhd", "1.2345", "down", "", 1230),
    ("bhd", "1.2345", "nearest", "500", 1500),
    # CHF
    ("chf", "11.37", "nearest", "90", 1090),
    ("chf", "11.37", "up", "", 1137),
    # SEK: whole kronor
    ("sek", "94.35", "nearest", "00", 9400),
    ("sek", "94.35", "up", "00", 9500),
    # BRL
    ("brl", "45.499", "nearest", "90", 4590),
    # INR
    ("inr", "729.13", "nearest", "00", 72900),
    ("inr", "729.13", "nearest", "9900", 69900),
    # MXN
    ("mxn", "149.50", "down", "00", 14900),
    ("mxn", "149.50", "nearest", "", 14950),
]


@pytest.mark.parametrize(("currency", "amount", "mode", "ending", "expected"), CASES)
def test_rounding_table(currency, amount, mode, ending, expected):
    rule = RoundingRule(mode, ending)
    rule.check(currency)
    assert round_price(Decimal(amount), currency, rule) == expected
    assert expected % amount_step(currency) == 0  # every result is an amount Stripe takes


def test_the_table_covers_the_twelve_currencies():
    assert {c for c, *_ in CASES} == {
        "usd", "eur", "gbp", "jpy", "krw", "kwd", "bhd", "chf", "sek", "brl", "inr", "mxn"
    }  # fmt: skip


def test_minor_units_come_from_babel():
    assert [exponent(c) for c in ("jpy", "krw", "usd", "kwd", "bhd")] == [0, 0, 2, 3, 3]
    assert [amount_step(c) for c in ("usd", "jpy", "kwd", "bhd", "isk")] == [1, 1, 10, 10, 100]


@pytest.mark.parametrize(
    ("currency", "rule", "message"),
    [
        ("kwd", RoundingRule("nearest", "99"), "steps of 10"),
        ("isk", RoundingRule("nearest", "9"), "steps of 100"),
        ("usd", RoundingRule("sideways", ""), "rounding must be"),
        ("usd", RoundingRule("up", "9a"), "up to 6 digits"),
        ("usd", RoundingRule("up", "1234567"), "up to 6 digits"),
    ],
)
def test_rules_stripe_would_refuse_are_refused(currency, rule, message):
    with pytest.raises(ValueError, match=message):
        rule.check(currency)


def test_the_same_inputs_give_the_same_price_every_time():
    rule = RoundingRule("nearest", "99")
    results = {round_price(Decimal("1.0842") * Decimal(n) / 7, "eur", rule) for _ in range(50) for n in [8]}
    assert len(results) == 1


def test_stripe_minimums_from_the_table_or_converted_from_the_settlement_currency():
    assert MINIMUM_SOURCE.startswith("https://docs.stripe.com/currencies")
    assert MINIMUM_CHARGE["jpy"] == 50 and MINIMUM_CHARGE["gbp"] == 30 and MINIMUM_CHARGE["mxn"] == 1000
    assert minimum_charge("sek", settlement="usd", settlement_rate=None) == (300, "Stripe's table")
    # KWD is not in Stripe's table: $0.50 at 0.3077 KWD per USD is 0.15385 KWD, up to Stripe's step.
    assert minimum_charge("kwd", settlement="usd", settlement_rate=Decimal("0.3077")) == (160, "USD minimum converted")
    assert minimum_charge("krw", settlement="usd", settlement_rate=None)[0] is None


def test_rules_describe_themselves_with_an_example():
    assert RoundingRule("nearest", "900").describe("jpy") == "Nearest, ending in …900 (e.g. ¥900)"
    assert RoundingRule("up", "99").describe("usd") == "Up, ending in …99 (e.g. $12.99)"
    assert RoundingRule("nearest", "").describe("kwd").startswith("Nearest, to the 10 minor units")
