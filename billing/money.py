"""Money is an integer amount in the currency's minor unit plus an ISO 4217 code. Never a float.

A leaf every app may import. Minor units and formatting come from Babel (CLDR), so JPY and KRW
have no decimals and KWD and BHD three without a table of our own; the one place Stripe's API
differs from CLDR is listed below, with its source.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision

# https://docs.stripe.com/currencies#special-cases — Stripe still takes ISK in two-decimal form
# (the decimals always 00) for backwards compatibility, where CLDR says zero decimals.
STRIPE_EXPONENT_OVERRIDES = {"isk": 2}

DEFAULT_LOCALE = "en_US"


@lru_cache(maxsize=512)
def exponent(currency: str) -> int:
    """Digits after the decimal point in Stripe amounts of `currency` (JPY 0, USD 2, KWD 3)."""
    code = currency.lower()
    if code in STRIPE_EXPONENT_OVERRIDES:
        return STRIPE_EXPONENT_OVERRIDES[code]
    return get_currency_precision(code.upper())


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    return Decimal(int(amount_minor)).scaleb(-exponent(currency))


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """Major units as typed by a person ("12.50") to minor units; refuses more precision than the currency has."""
    value = Decimal(str(amount).strip())
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not an amount")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency.upper()} has {exponent(currency)} decimal places; {amount} has more")
    return int(scaled)


def round_minor(amount: Decimal, currency: str) -> int:
    """A Decimal in major units (a conversion result) to the nearest minor unit, halves away from zero."""
    quantum = Decimal(1).scaleb(-exponent(currency))
    return int(amount.quantize(quantum, rounding=ROUND_HALF_UP).scaleb(exponent(currency)))


def format_money(amount_minor: int | None, currency: str | None, locale: str = DEFAULT_LOCALE) -> str:
    """`format_money(1050, "jpy")` -> `¥1,050`; `format_money(2700, "kwd")` -> `KWD 2.700`."""
    if amount_minor is None or not currency:
        return "—"
    code = currency.upper()
    value = to_decimal(amount_minor, currency)
    places = exponent(currency)
    if places == get_currency_precision(code):
        babel_locale, pattern = _standard_pattern(locale)
        text = pattern.apply(value, babel_locale, currency=code, currency_digits=True)
    else:  # Stripe's representation has more places than CLDR's (ISK): show them all
        pattern = "¤#,##0" + ("." + "0" * places if places else "")
        text = format_currency(value, code, format=pattern, locale=locale, currency_digits=False)
    # Babel writes bare codes without a space ("KWD2.700"); people read "KWD 2.700".
    return _CODE_THEN_DIGIT.sub(r"\1\2 \3", text)


@lru_cache(maxsize=64)
def _standard_pattern(locale: str):
    """The locale and its currency pattern, parsed once (Babel parses them on every call otherwise)."""
    babel_locale = Locale.parse(locale)
    return babel_locale, babel_locale.currency_formats["standard"]


_CODE_THEN_DIGIT = re.compile(r"^(-?)([A-Z]{3})(\d)")
