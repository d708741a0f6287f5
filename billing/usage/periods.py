"""Billing periods and what was used in them.

A period is one metered subscription item's current period, read from the mirror (dahlia keeps
periods on items). Its value follows the meter's aggregation over events with
`start <= timestamp < end`: whole days come from the daily aggregates, the two partial days at the
edges from the events themselves (periods start at the subscription's anchor second, not at
midnight). Active seats count members active in the period: a member stays an active seat for
`inactive_after_days` after their last activity (Slack's fair billing policy).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, Sum
from djstripe.models import SubscriptionItem

from accounts.models import Organisation
from billing.stripe.querysets import LIVE_SUBSCRIPTION_STATUSES
from billing.usage.models import Aggregation, Meter, SeatActivity, UsageDay, UsageEvent, UsagePeriod

DAY = dt.timedelta(days=1)


def _when(ts: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC) if ts else None


def periods_sync(*, customer_id: str | None = None) -> int:
    """A UsagePeriod for the current period of every live subscription item billed through a
    meter (of one customer, or all); one insert for those missing. Returns how many are current."""
    meters = {m.stripe_meter_id: m for m in Meter.objects.filter(active=True).exclude(stripe_meter_id="")}
    if not meters:
        return 0
    items = SubscriptionItem.objects.filter(
        price__stripe_data__recurring__meter__in=list(meters),
        subscription__stripe_data__status__in=list(LIVE_SUBSCRIPTION_STATUSES),
    ).select_related("subscription", "price")
    if customer_id:
        items = items.filter(subscription__customer_id=customer_id)
    items = list(items)
    orgs = {
        o.stripe_customer_id: o
        for o in Organisation.objects.filter(stripe_customer_id__in={i.subscription.customer_id for i in items})
    }
    wanted = []
    for item in items:
        data, price = item.stripe_data, item.price.stripe_data
        organisation = orgs.get(item.subscription.customer_id)
        start, end = _when(data.get("current_period_start")), _when(data.get("current_period_end"))
        if organisation is None or start is None or end is None:
            continue
        wanted.append(
            UsagePeriod(
                organisation=organisation,
                meter=meters[price["recurring"]["meter"]],
                start=start,
                end=end,
                customer_id=item.subscription.customer_id,
                subscription_id=item.subscription.id,
                subscription_item_id=item.id,
                price_id=item.price.id,
                currency=price.get("currency") or "",
                unit_amount=price.get("unit_amount"),
            )
        )
    # One query for what exists, one insert for what does not (beat runs this every minute).
    UsagePeriod.objects.bulk_create(wanted, ignore_conflicts=True, batch_size=1000)
    return len(wanted)


@dataclass
class Totals:
    total: int = 0
    events: int = 0
    maximum: int = 0
    last_value: int = 0
    last_at: dt.datetime | None = None
    late: int = 0

    def value(self, aggregation: str) -> int:
        return {
            Aggregation.sum: self.total,
            Aggregation.count: self.events,
            Aggregation.max: self.maximum,
            Aggregation.last: self.last_value,
        }[aggregation]


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def totals(organisation_id: int, meter_id: int, start: dt.datetime, end: dt.datetime) -> Totals:
    """Sum, count, max, last and late events over [start, end)."""
    result = Totals()
    if end <= start:
        return result
    first_full = start.date() if start == _day_start(start.date()) else start.date() + DAY
    last_full = end.date() - DAY  # the day `end` falls on is partial (or empty when end is midnight)
    days = UsageDay.objects.filter(organisation_id=organisation_id, meter_id=meter_id)
    edges = []
    if first_full <= last_full:
        full = days.filter(day__gte=first_full, day__lte=last_full)
        agg = full.aggregate(t=Sum("total"), n=Sum("events"), m=Max("maximum"), late=Sum("late_events"))
        result.total, result.events = agg["t"] or 0, agg["n"] or 0
        result.maximum, result.late = agg["m"] or 0, agg["late"] or 0
        newest = full.exclude(last_at=None).order_by("-last_at").first()
        if newest:
            result.last_value, result.last_at = newest.last_value, newest.last_at
        edges = [(start, _day_start(first_full)), (_day_start(last_full + DAY), end)]
    else:
        edges = [(start, end)]
    events = UsageEvent.objects.filter(organisation_id=organisation_id, meter_id=meter_id)
    for lo, hi in edges:
        if hi <= lo:
            continue
        part = events.filter(timestamp__gte=lo, timestamp__lt=hi)
        agg = part.aggregate(
            t=Sum("value"), n=Count("event_id"), m=Max("value"), late=Count("event_id", filter=Q(late=True))
        )
        result.total += agg["t"] or 0
        result.events += agg["n"] or 0
        result.maximum = max(result.maximum, agg["m"] or 0)
        result.late += agg["late"] or 0
        newest = part.order_by("-timestamp", "-event_id").values("value", "timestamp").first()
        if newest and (result.last_at is None or newest["timestamp"] >= result.last_at):
            result.last_value, result.last_at = newest["value"], newest["timestamp"]
    return result


@dataclass
class Seat:
    membership_id: int
    email: str
    first_seen: dt.datetime
    last_seen: dt.datetime  # the last activity before the period's end
    active_days: int
    inactive_from: dt.datetime


def seats(period_or_org, meter: Meter, start: dt.datetime, end: dt.datetime) -> list[Seat]:
    """Members who were active seats in [start, end): seen in it, or within the grace before it."""
    organisation_id = getattr(period_or_org, "organisation_id", None) or period_or_org.pk
    grace = dt.timedelta(days=meter.inactive_after_days)
    rows = (
        SeatActivity.objects.filter(organisation_id=organisation_id, first_seen__lt=end, last_seen__gte=start - grace)
        .values("membership_id", "membership__user__email")
        .annotate(first=Min("first_seen"), last=Max("last_seen"), days=Count("id", filter=Q(day__gte=start.date())))
        .order_by("membership__user__email")
    )
    found = []
    for row in rows:
        last = min(row["last"], end)
        found.append(
            Seat(
                row["membership_id"],
                row["membership__user__email"] or "",
                row["first"],
                last,
                row["days"],
                last + grace,
            )
        )
    return found


def value(period: UsagePeriod, *, now: dt.datetime) -> int:
    """The period's billable value so far (up to `now`), before corrections."""
    meter = period.meter
    end = min(period.end, now) if meter.aggregation != Aggregation.active_seats else period.end
    if meter.aggregation == Aggregation.active_seats:
        return len([s for s in seats(period, meter, period.start, min(period.end, now))])
    return totals(period.organisation_id, meter.pk, period.start, end).value(meter.aggregation)
