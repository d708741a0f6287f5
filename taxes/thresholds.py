"""Threshold monitoring: sales into each jurisdiction where the company is not registered, against
that jurisdiction's registration threshold (`taxes.rates.THRESHOLDS`, with its source), over the
last 12 months. A warning from 80 %; over 100 % it is time to register.

Sales are finalised invoices' amounts before tax, placed by the customer address on the invoice
(Stripe's `customer_address`), falling back to the organisation's country and the state finance
recorded in its tax status. Both sides are compared
in the reporting currency: each invoice at the FX rate of its day, the threshold at today's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from djstripe.models import Invoice

from accounts.models import Organisation
from billing.currencies.fx import RateBook
from taxes.models import CustomerTaxStatus, Registration, TaxSettings
from taxes.rates import THRESHOLDS, Threshold
from taxes.report import FINALISED
from taxes.tax_ids import EU_COUNTRIES

WARN_AT = 80


@dataclass
class Watch:
    threshold: Threshold
    sales: int = 0  # reporting currency minor units
    transactions: int = 0
    threshold_reporting: int | None = None
    missing_fx: bool = False

    @property
    def percent(self) -> int | None:
        if self.threshold_reporting is None:
            return None
        if self.threshold_reporting == 0:
            return 100 if self.sales > 0 else 0
        by_amount = self.sales * 100 // self.threshold_reporting
        by_count = self.transactions * 100 // self.threshold.transactions if self.threshold.transactions else 0
        return max(by_amount, by_count)

    @property
    def level(self) -> str:
        percent = self.percent
        if percent is None:
            return "unknown"
        return "over" if percent >= 100 else "warning" if percent >= WARN_AT else "ok"


def place_of(country: str, state: str, home: str) -> str | None:
    country, state = (country or "").upper(), (state or "").upper()
    if country == "US":
        return f"US-{state}" if state else None
    if country in EU_COUNTRIES:
        return None if country == home else "EU"
    return country or None


def _registered(today: dt.date) -> set[str]:
    places = set()
    for reg in Registration.objects.all():
        if not reg.active_on(today):
            continue
        if reg.country in EU_COUNTRIES:
            places.add("EU")
        places.add(reg.jurisdiction if reg.country == "US" else str(reg.country))
    return places


def threshold_watch(*, today: dt.date | None = None, quote: str | None = None) -> list[Watch]:
    today = today or timezone.now().date()
    home = str(TaxSettings.current().home_country)
    registered = _registered(today)
    book = RateBook(quote)
    since = int(dt.datetime.combine(today - dt.timedelta(days=365), dt.time(), tzinfo=dt.UTC).timestamp())
    countries = dict(Organisation.objects.exclude(stripe_customer_id=None).values_list("stripe_customer_id", "country"))
    states = dict(
        CustomerTaxStatus.objects.exclude(state="").values_list("organisation__stripe_customer_id", "state")
    )  # where the invoice's address has no state, the one finance recorded
    watches: dict[str, Watch] = {}
    rows = Invoice.objects.filter(
        stripe_data__status__in=FINALISED, stripe_data__status_transitions__finalized_at__gte=since
    ).values_list(
        "stripe_data__customer",
        "stripe_data__customer_address",
        "stripe_data__currency",
        "stripe_data__total_excluding_tax",
        "stripe_data__status_transitions__finalized_at",
    )
    for customer, address, currency, amount, when in rows.iterator(chunk_size=2000):
        address = address or {}
        state = address.get("state") or states.get(customer, "")
        place = place_of(address.get("country") or countries.get(customer, ""), state, home)
        if place is None or place in registered or place not in THRESHOLDS:
            continue
        watch = watches.setdefault(place, Watch(THRESHOLDS[place]))
        converted = book.convert(int(amount or 0), currency or "", dt.datetime.fromtimestamp(int(when), dt.UTC).date())
        if converted is None:
            watch.missing_fx = True
            continue
        watch.sales += converted
        watch.transactions += 1
    for watch in watches.values():
        watch.threshold_reporting = book.convert(watch.threshold.amount, watch.threshold.currency, today)
    return sorted(watches.values(), key=lambda w: (-(w.percent or 0), w.threshold.jurisdiction))
