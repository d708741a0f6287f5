"""Calendar arithmetic for billing periods."""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(ts: int, months: int) -> int:
    when = dt.datetime.fromtimestamp(ts, dt.UTC)
    month = when.month - 1 + months
    year = when.year + month // 12
    month = month % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return int(when.replace(year=year, month=month, day=day).timestamp())


def period_end(start: int, recurring: dict) -> int:
    count = int(recurring.get("interval_count") or 1)
    interval = recurring.get("interval")
    if interval == "year":
        return add_months(start, 12 * count)
    if interval == "month":
        return add_months(start, count)
    if interval == "week":
        return start + 7 * 86400 * count
    return start + 86400 * count


def current_period(sub: dict) -> tuple[int, int]:
    """A subscription's current period: from its items' earliest start to their latest end."""
    items = sub["items"]["data"]
    return min(i["current_period_start"] for i in items), max(i["current_period_end"] for i in items)


def day_label(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%d %b %Y")


def add_business_days(ts: int, days: int) -> int:
    """`days` weekdays after `ts` (Saturdays and Sundays do not count), at the same time of day."""
    when = dt.datetime.fromtimestamp(ts, dt.UTC)
    while days > 0:
        when += dt.timedelta(days=1)
        if when.weekday() < 5:
            days -= 1
    return int(when.timestamp())
