"""The charge explainer: for each line of an invoice billed by usage, the aggregate behind it, the
events or seat changes that made it, what we reported to Stripe and when, corrections and
fair-billing credits — so "was this fair?" is answered on one page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from billing.usage import periods
from billing.usage.models import (
    Aggregation,
    SeatCredit,
    UsageCorrection,
    UsageDay,
    UsageEvent,
    UsagePeriod,
)


def _when(ts) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC) if ts else None


@dataclass
class Explained:
    line: dict
    kind: str  # "usage", "correction" or "other"
    period: UsagePeriod | None = None
    quantity: int | None = None
    ours_now: int | None = None
    days: list = field(default_factory=list)
    events: list = field(default_factory=list)
    largest: list = field(default_factory=list)
    event_count: int = 0
    late_events: int = 0
    seats: list = field(default_factory=list)
    reports: list = field(default_factory=list)
    corrections: list = field(default_factory=list)
    credits: list = field(default_factory=list)
    correction: UsageCorrection | None = None

    @property
    def verdict(self) -> str:
        if self.kind != "usage" or self.period is None:
            return ""
        reported = self.period.reported_value
        if self.quantity == reported:
            if self.ours_now is not None and self.ours_now != reported and self.period.meter.stripe_formula == "sum":
                diff = self.ours_now - reported
                return (
                    f"Billed exactly what was reported. {diff:+,} {self.period.meter.unit}(s) arrived after the "
                    "invoice (late events): finance reviews them, and any correction appears on a later invoice."
                )
            return "Billed exactly what the product reported: the quantity matches our count."
        return (
            f"Stripe billed {self.quantity:,} but we reported {reported:,}: flagged for finance "
            "(see the reconciliation on the usage pages)."
        )


def explain_invoice(invoice, *, event_limit: int = 25) -> list[Explained]:
    """`invoice`: a mirrored dj-stripe Invoice. One entry per line, usage lines explained."""
    data = invoice.stripe_data
    customer_id = data.get("customer") if isinstance(data.get("customer"), str) else invoice.customer_id
    lines = (data.get("lines") or {}).get("data") or []
    corrections = {
        c.stripe_id: c
        for c in UsageCorrection.objects.filter(period__customer_id=customer_id).select_related(
            "period__meter", "actor"
        )
        if c.stripe_id
    }
    now = timezone.now()
    result = []
    for line in lines:
        parent = line.get("parent") or {}
        item_id = (parent.get("subscription_item_details") or {}).get("subscription_item")
        invoice_item = (parent.get("invoice_item_details") or {}).get("invoice_item") or (
            parent.get("subscription_item_details") or {}
        ).get("invoice_item")
        period_end = _when((line.get("period") or {}).get("end"))
        period = None
        if item_id and period_end:
            period = (
                UsagePeriod.objects.filter(customer_id=customer_id, subscription_item_id=item_id, end=period_end)
                .select_related("meter", "organisation")
                .first()
            )
        if period is not None:
            result.append(_usage_line(line, period, now=now, event_limit=event_limit))
        elif invoice_item and invoice_item in corrections:
            result.append(Explained(line=line, kind="correction", correction=corrections[invoice_item]))
        else:
            result.append(Explained(line=line, kind="other"))
    return result


def _usage_line(line: dict, period: UsagePeriod, *, now: dt.datetime, event_limit: int) -> Explained:
    meter = period.meter
    entry = Explained(line=line, kind="usage", period=period, quantity=line.get("quantity"))
    entry.ours_now = periods.value(period, now=now)
    entry.reports = list(period.reports.order_by("sequence"))
    entry.corrections = list(period.corrections.select_related("actor").order_by("created_at"))
    entry.credits = list(SeatCredit.objects.filter(period=period).order_by("inactive_from"))
    if meter.aggregation == Aggregation.active_seats:
        entry.seats = periods.seats(period, meter, period.start, period.end)
        return entry
    entry.days = list(
        UsageDay.objects.filter(
            organisation_id=period.organisation_id,
            meter=meter,
            day__gte=period.start.date(),
            day__lte=(period.end - dt.timedelta(seconds=1)).date(),
        ).order_by("day")
    )
    totals = periods.totals(period.organisation_id, meter.pk, period.start, period.end)
    entry.event_count, entry.late_events = totals.events, totals.late
    in_period = UsageEvent.objects.filter(
        organisation_id=period.organisation_id, meter=meter, timestamp__gte=period.start, timestamp__lt=period.end
    )
    entry.events = list(in_period.order_by("-timestamp")[:event_limit])
    if meter.aggregation in (Aggregation.sum, Aggregation.max):
        entry.largest = list(in_period.order_by("-value", "-timestamp")[:10])
    return entry
