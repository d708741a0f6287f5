"""Rounding rules of a price book: a converted Decimal in, whole minor units out.

A rule is a direction (up, down, nearest) and an optional charm ending: the last digits the amount
has in minor units ("99" → $12.99, "900" → ¥1,900, "9" → ₩10,009 or $8.79; "00" → whole dollars,
"0" → KWD amounts Stripe accepts). Without an ending the amount is rounded to the smallest step
Stripe accepts in the currency (a cent; ten fils for KWD). The same inputs always give the same
amount: Decimal arithmetic, ties go up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from billing.currencies.limits import amount_step
from billing.money import exponent, format_money

MODES = {"nearest": "Nearest", "up": "Up", "down": "Down"}
MAX_ENDING = 6


@dataclass(frozen=True)
class RoundingRule:
    mode: str = "nearest"
    ending: str = ""

    def check(self, currency: str) -> None:
        """Raise ValueError with a sentence a finance admin can act on."""
        if self.mode not in MODES:
            raise ValueError(f"rounding must be one of {', '.join(MODES)}")
        if self.ending and (not self.ending.isdigit() or len(self.ending) > MAX_ENDING):
            raise ValueError(f"a charm ending is up to {MAX_ENDING} digits, like 99 or 900")
        step = amount_step(currency)
        if self.ending and (int(self.ending) % step or 10 ** len(self.ending) % step):
            zeros = "0" * (len(str(step)) - 1)
            raise ValueError(
                f"Stripe takes {currency.upper()} amounts in steps of {step} minor units: "
                f"choose an ending that ends in {zeros}, like 9{zeros}"
            )

    def describe(self, currency: str) -> str:
        if not self.ending:
            return f"{MODES[self.mode]}, to the {_unit_name(currency)}"
        return f"{MODES[self.mode]}, ending in …{self.ending} (e.g. {format_money(self.example(currency), currency)})"

    def example(self, currency: str) -> int:
        """What the rule makes of 1234 minor units ($12.34, ¥1,234, KWD 1.234)."""
        return round_price(Decimal(1234).scaleb(-exponent(currency)), currency, self)


def _unit_name(currency: str) -> str:
    step = amount_step(currency)
    places = exponent(currency)
    if places == 0 or step == 10**places:
        return "whole unit"
    return "minor unit" if step == 1 else f"{step} minor units"


def round_price(amount: Decimal, currency: str, rule: RoundingRule) -> int:
    """`amount` in major units of `currency` to a price in minor units by `rule` (always above 0)."""
    minor = amount.scaleb(exponent(currency))
    if rule.ending:
        modulus, offset = 10 ** len(rule.ending), int(rule.ending)
    else:
        modulus, offset = amount_step(currency), 0
    lower = ((minor - offset) / modulus).to_integral_value(rounding=ROUND_FLOOR) * modulus + offset
    upper = lower if lower == minor else lower + modulus
    if rule.mode == "up":
        result = upper
    elif rule.mode == "down":
        result = lower
    else:
        result = lower if minor - lower < upper - minor else upper
    if result <= 0:
        result = Decimal(offset or modulus)  # the smallest price the rule allows
    return int(result)
