"""Daily usage as charts that are tables first (billing/ui/charts)."""

from __future__ import annotations

import datetime as dt

from billing.ui.charts import chart
from billing.usage.models import Aggregation, Meter, UsageDay


def day_value(day: UsageDay | None, meter: Meter) -> int:
    if day is None:
        return 0
    if meter.aggregation == Aggregation.sum:
        return day.total
    if meter.aggregation == Aggregation.max:
        return day.maximum
    if meter.aggregation == Aggregation.last:
        return day.last_value
    return day.events  # count; active seats: activity reports that day


def daily_charts(series: list[tuple[Meter, dict[dt.date, UsageDay]]], dates: list[dt.date]) -> list[dict]:
    charts = []
    for meter, by_day in series:
        label = {
            Aggregation.sum: f"{meter.unit}s",
            Aggregation.count: "events",
            Aggregation.max: f"peak {meter.unit}s",
            Aggregation.last: f"last {meter.unit}s",
            Aggregation.active_seats: "activity reports",
        }[meter.aggregation]
        charts.append(
            chart(
                f"usage-{meter.key}",
                f"{meter.name} per day",
                [f"{d:%-d %b}" for d in dates],
                [(label.capitalize(), [day_value(by_day.get(d), meter) for d in dates])],
                label_header="Day (UTC)",
                note=f"last {len(dates)} days",
            )
        )
    return charts
