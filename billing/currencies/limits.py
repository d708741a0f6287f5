"""Stripe's per-currency rules that Babel (CLDR) does not know, in one table with their sources:
the smallest amount Stripe charges, and the steps some currencies' amounts must come in.

Minor units themselves come from Babel through `billing.money.exponent` (JPY and KRW none, KWD and
BHD three), never from a table of ours.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from babel.numbers import get_currency_precision

from billing.money import exponent

MINIMUM_SOURCE = "https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts"
STEP_SOURCE = "https://docs.stripe.com/currencies#three-decimal"

# Stripe's "Minimum and maximum charge amounts" table (checked 2026-11), in each currency's minor
# units: a charge below it is refused (`amount_too_small`). The same minimum holds per charge,
# so a per-seat price below it can only be billed with enough seats: the price book flags it.
MINIMUM_CHARGE: dict[str, int] = {
    "usd": 50,  # $0.50
    "aed": 200,  # 2.00 د.إ
    "aud": 50,  # $0.50
    "bgn": 100,  # лв1.00
    "brl": 50,  # R$0.50
    "cad": 50,  # $0.50
    "chf": 50,  # 0.50 Fr
    "czk": 1500,  # 15.00 Kč
    "dkk": 250,  # 2.50 kr.
    "eur": 50,  # €0.50
    "gbp": 30,  # £0.30
    "hkd": 400,  # $4.00
    "huf": 17500,  # 175.00 Ft
    "inr": 50,  # ₹0.50
    "jpy": 50,  # ¥50
    "mxn": 1000,  # $10
    "myr": 200,  # RM 2
    "nok": 300,  # 3.00 kr.
    "nzd": 50,  # $0.50
    "pln": 200,  # 2.00 zł
    "ron": 200,  # lei 2.00
    "sek": 300,  # 3.00 kr.
    "sgd": 50,  # $0.50
    "thb": 1000,  # ฿10
}
# Every other currency: "the equivalent of the minimum in your settlement currency" — for an account
# that settles in USD, $0.50 converted at the day's rate (the same page, below the table).


def amount_step(currency: str) -> int:
    """Minor units Stripe's amounts in `currency` must be a multiple of.

    - Three-decimal currencies (KWD, BHD, JOD, OMR, TND): "the least-significant (last) digit must be
      0 ... round amounts to the nearest ten" (STEP_SOURCE): 10.
    - Currencies Stripe takes with more decimals than CLDR gives them (ISK: two decimals, always 00,
      see billing.money.STRIPE_EXPONENT_OVERRIDES): whole units only, 100.
    """
    places = exponent(currency)
    if places == 3:
        return 10
    cldr = get_currency_precision(currency.upper())
    return 10 ** (places - cldr) if places > cldr else 1


def minimum_charge(currency: str, *, settlement: str, settlement_rate: Decimal | None) -> tuple[int | None, str]:
    """Stripe's smallest charge in `currency` (minor units) and where the figure comes from.

    `settlement_rate`: units of `currency` per unit of the settlement currency, for currencies
    outside Stripe's table; None when unknown (then the minimum is unknown too)."""
    code = currency.lower()
    if code in MINIMUM_CHARGE:
        return MINIMUM_CHARGE[code], "Stripe's table"
    base = MINIMUM_CHARGE.get(settlement.lower())
    if base is None or settlement_rate is None:
        return None, f"unknown (no {settlement.upper()} rate)"
    major = Decimal(base).scaleb(-exponent(settlement)) * settlement_rate
    step = amount_step(code)
    minor = (major.scaleb(exponent(code)) / step).to_integral_value(rounding=ROUND_CEILING) * step
    return int(minor), f"{settlement.upper()} minimum converted"
