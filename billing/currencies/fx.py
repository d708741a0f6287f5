"""Converting money with the FX table: Decimal end to end, rounded once to the target's minor unit."""

from __future__ import annotations

import bisect
import datetime as dt
from decimal import Decimal

from django.conf import settings

from billing.currencies.models import FxRate
from billing.money import round_minor, to_decimal


def reporting_currency() -> str:
    return settings.PORTAL_REPORTING_CURRENCY


class RateBook:
    """Every rate into `quote`, loaded once, looked up by day (the latest rate on or before it)."""

    def __init__(self, quote: str | None = None):
        self.quote = (quote or reporting_currency()).lower()
        self._days: dict[str, list[dt.date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        for currency, day, rate in (
            FxRate.objects.filter(quote=self.quote).order_by("currency", "day").values_list("currency", "day", "rate")
        ):
            self._days.setdefault(currency, []).append(day)
            self._rates.setdefault(currency, []).append(rate)

    def rate(self, currency: str, day: dt.date) -> Decimal | None:
        currency = currency.lower()
        if currency == self.quote:
            return Decimal(1)
        days = self._days.get(currency)
        if not days:
            return None
        index = bisect.bisect_right(days, day) - 1
        if index < 0:
            index = 0  # before the first rate: the first one known (said on the page as "earliest rate")
        return self._rates[currency][index]

    def convert(self, amount_minor: int, currency: str, day: dt.date) -> int | None:
        """`amount_minor` of `currency` in the quote currency's minor units, or None without a rate."""
        rate = self.rate(currency, day)
        if rate is None:
            return None
        return round_minor(to_decimal(amount_minor, currency) * rate, self.quote)

    def missing(self, currencies) -> set[str]:
        return {c for c in {c.lower() for c in currencies} if c != self.quote and c not in self._days}


class StaleRate(ValueError):
    """No rate, or none recent enough, for what a launch needs (the message says which and what to do)."""


def max_age_days() -> int:
    return settings.PORTAL_FX_MAX_AGE_DAYS


def fresh_rate(currency: str, *, today: dt.date, quote: str | None = None) -> FxRate | None:
    """The latest rate of `currency` into `quote` on or before `today`, refused when older than
    PORTAL_FX_MAX_AGE_DAYS. None for the quote currency itself (its rate is 1)."""
    quote = (quote or reporting_currency()).lower()
    currency = currency.lower()
    if currency == quote:
        return None
    rate = FxRate.objects.filter(currency=currency, quote=quote, day__lte=today).order_by("-day").first()
    if rate is None:
        raise StaleRate(f"there is no {currency.upper()} rate into {quote.upper()}: add one on the FX page")
    age = (today - rate.day).days
    if age > max_age_days():
        raise StaleRate(
            f"the latest {currency.upper()} rate is from {rate.day:%Y-%m-%d}, {age} days old; launches use "
            f"rates at most {max_age_days()} days old: add a current rate on the FX page"
        )
    return rate


def cross_rate(source: str, target: str, *, today: dt.date) -> tuple[Decimal, dt.date, str]:
    """How many units of `target` one unit of `source` buys, from fresh rates of both into the
    reporting currency: (rate rounded to 12 places, the older rate's day, where the rates come from)."""
    parts, days, rates = [], [], []
    for code in (source, target):
        fx = fresh_rate(code, today=today)
        if fx is None:
            rates.append(Decimal(1))
            continue
        rates.append(fx.rate)
        days.append(fx.day)
        parts.append(f"1 {code.upper()} = {fx.rate.normalize()} {fx.quote.upper()} ({fx.source}, {fx.day:%Y-%m-%d})")
    rate = (rates[0] / rates[1]).quantize(Decimal("1e-12"))
    return rate, min(days) if days else today, "; ".join(parts)
