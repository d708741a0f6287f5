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
