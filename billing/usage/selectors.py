"""Reads for the usage pages: fixed numbers of queries, only the organisation's rows for customers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Avg, Exists, F, Max, OuterRef, Sum, Window
from django.db.models.expressions import RowRange
from django.utils import timezone

from accounts.models import Organisation
from billing.usage import periods
from billing.usage.models import (
    Aggregation,
    ApiKey,
    Meter,
    MeterReport,
    ReportStatus,
    SeatCredit,
    UsageCorrection,
    UsageDay,
    UsagePeriod,
)


@dataclass
class PeriodRow:
    period: UsagePeriod
    value: int  # what the period bills so far (reported to Stripe, or computed for an open period)
    charge: int | None  # minor units, in period.currency
    projected: int | None  # at the current pace, to the period's end
    elapsed: float  # 0..1 of the period gone

    @property
    def status(self) -> str:
        if self.period.mismatch:
            return "mismatch"
        return "invoiced" if self.period.closed_at else "open"


def period_row(period: UsagePeriod, *, now: dt.datetime, live: bool = False) -> PeriodRow:
    """A period with its charge; `live` computes an open period's value now (a detail page), else
    reads what was last reported (lists: no query per row)."""
    value = periods.value(period, now=now) if live and period.closed_at is None else period.reported_value
    length = (period.end - period.start).total_seconds()
    elapsed = min(1.0, max(0.0, (now - period.start).total_seconds() / length)) if length else 1.0
    charge = value * period.unit_amount if period.unit_amount is not None else None
    projected = charge
    if charge is not None and period.closed_at is None and period.meter.stripe_formula == "sum" and elapsed > 0.02:
        projected = round(charge / elapsed)
    return PeriodRow(period, value, charge, projected, elapsed)


def period_rows(items: list[UsagePeriod]) -> list[PeriodRow]:
    now = timezone.now()
    return [period_row(p, now=now) for p in items]


def period_list():
    return UsagePeriod.objects.select_related("organisation", "meter")


def dashboard(*, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    month_start = now.date().replace(day=1)
    day_ago = now.date() - dt.timedelta(days=1)
    events_today = UsageDay.objects.filter(day__gte=day_ago).aggregate(n=Sum("events"))["n"] or 0
    open_periods = UsagePeriod.objects.filter(closed_at__isnull=True)
    kpis = {
        "events_24h": events_today,
        "organisations": open_periods.values("organisation_id").distinct().count(),
        "pending_reports": MeterReport.objects.filter(status=ReportStatus.pending).count(),
        "failed_reports": MeterReport.objects.filter(status=ReportStatus.failed).count(),
        "mismatches": UsagePeriod.objects.filter(reconciled_at__isnull=False)
        .exclude(stripe_value=F("our_value"))
        .count(),
        "credits_month": SeatCredit.objects.filter(created_at__date__gte=month_start).count(),
    }
    return {
        "kpis": kpis,
        "top": top_consumers(since=month_start),
        "anomalies": anomalies(now=now),
        "late": late_periods(),
        "mismatches": list(
            UsagePeriod.objects.filter(reconciled_at__isnull=False)
            .exclude(stripe_value=F("our_value"))
            .select_related("organisation", "meter")[:20]
        ),
        "failed": list(
            MeterReport.objects.filter(status=ReportStatus.failed).select_related("period__organisation")[:20]
        ),
        "credits": list(SeatCredit.objects.select_related("period__organisation", "period__meter")[:10]),
    }


def top_consumers(*, since: dt.date, per_meter: int = 8) -> list[dict]:
    """Per meter: the organisations that used the most since `since` (sum, count or peak)."""
    result = []
    for meter in Meter.objects.filter(active=True).exclude(aggregation=Aggregation.active_seats):
        measure = {Aggregation.sum: Sum("total"), Aggregation.count: Sum("events")}.get(
            meter.aggregation, Max("maximum")
        )
        rows = (
            UsageDay.objects.filter(meter=meter, day__gte=since)
            .values("organisation_id", "organisation__name", "organisation__slug")
            .annotate(amount=measure, events=Sum("events"))
            .order_by("-amount")[:per_meter]
        )
        result.append({"meter": meter, "rows": list(rows)})
    return result


def anomalies(*, now: dt.datetime, days: int = 14, limit: int = 20) -> list[dict]:
    """Days over USAGE_ANOMALY_FACTOR × the organisation's trailing 7-day average for that meter."""
    factor = settings.USAGE_ANOMALY_FACTOR
    since = now.date() - dt.timedelta(days=days + 7)
    trailing = Window(
        Avg("total"),
        partition_by=[F("organisation_id"), F("meter_id")],
        order_by=F("day").asc(),
        frame=RowRange(start=-7, end=-1),
    )
    rows = (
        UsageDay.objects.filter(day__gte=since)
        .annotate(trailing=trailing)
        .filter(day__gte=now.date() - dt.timedelta(days=days), trailing__gt=0, total__gt=factor * F("trailing"))
        .select_related("organisation", "meter")
        .order_by("-day")[:limit]
    )
    return [
        {"day": r.day, "organisation": r.organisation, "meter": r.meter, "total": r.total, "average": round(r.trailing),
         "ratio": round(r.total / r.trailing, 1)}
        for r in rows
    ]  # fmt: skip


def late_periods(*, limit: int = 20) -> list[dict]:
    """Invoiced periods that received events afterwards, not yet amended: what finance reviews."""
    from billing.usage.services import late_unbilled

    has_late = UsageDay.objects.filter(
        organisation_id=OuterRef("organisation_id"), meter_id=OuterRef("meter_id"), late_events__gt=0
    )
    closed = (
        UsagePeriod.objects.filter(closed_at__isnull=False)
        .filter(Exists(has_late))
        .select_related("organisation", "meter")
        .prefetch_related("corrections")
        .order_by("-end")
    )
    found = []
    for period in closed[: limit * 5]:
        count = periods.totals(period.organisation_id, period.meter_id, period.start, period.end).late
        if count:
            found.append({"period": period, "late_events": count, "unbilled": late_unbilled(period)})
        if len(found) >= limit:
            break
    return found


def organisation_usage(organisation: Organisation, *, now: dt.datetime | None = None, days: int = 30) -> dict:
    """One organisation's usage: current periods live, daily series, history, credits, corrections."""
    now = now or timezone.now()
    all_periods = list(UsagePeriod.objects.filter(organisation=organisation).select_related("meter"))
    current = [period_row(p, now=now, live=True) for p in all_periods if p.start <= now < p.end]
    history = [period_row(p, now=now) for p in all_periods if not p.start <= now < p.end]
    since = now.date() - dt.timedelta(days=days - 1)
    series: dict[int, dict[dt.date, UsageDay]] = {}
    for day in UsageDay.objects.filter(organisation=organisation, day__gte=since).select_related("meter"):
        series.setdefault(day.meter_id, {})[day.day] = day
    meters = {m.pk: m for m in Meter.objects.filter(pk__in=list(series))}
    return {
        "current": current,
        "history": history,
        "series": [(meters[meter_id], by_day) for meter_id, by_day in series.items()],
        "dates": [since + dt.timedelta(days=n) for n in range(days)],
        "credits": list(SeatCredit.objects.filter(period__organisation=organisation).select_related("period__meter")),
        "corrections": list(
            UsageCorrection.objects.filter(period__organisation=organisation).select_related("period__meter", "actor")
        ),
        "keys": list(ApiKey.objects.filter(organisation=organisation).select_related("created_by", "revoked_by")),
    }
