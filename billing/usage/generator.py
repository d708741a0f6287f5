"""A realistic usage stream, for the demo and the tests: events through the working day (more on
weekdays and in office hours, in the organisation's time zone), occasional bursts, members' activity
for active seats, and a client that retries (so some events come twice)."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator

from billing.usage.models import Aggregation, Meter

HOUR = 3600


def _busy(when: dt.datetime, utc_offset_hours: int) -> float:
    """0..1: how busy a team is at `when` (office hours on weekdays)."""
    local = when + dt.timedelta(hours=utc_offset_hours)
    weekday = 1.0 if local.weekday() < 5 else 0.15
    hour = local.hour + local.minute / 60
    daytime = math.exp(-(((hour - 13.5) / 3.5) ** 2))
    return weekday * (0.05 + 0.95 * daytime)


def stream(
    *,
    rng: random.Random,
    prefix: str,
    meters: list[Meter],
    start: dt.datetime,
    end: dt.datetime,
    per_hour: int,
    members: list[str] = (),
    inactive: dict[str, dt.datetime] | None = None,
    utc_offset_hours: int = 0,
    duplicate_rate: float = 0.0,
) -> Iterator[dict]:
    """Events in time order from `start` to `end`. `per_hour` is the busiest hour's rate for each
    non-seat meter; members are active on most working days until their date in `inactive`."""
    inactive = inactive or {}
    counter = 0
    hour = start.replace(minute=0, second=0, microsecond=0)
    recent: list[dict] = []
    while hour < end:
        busy = _busy(hour, utc_offset_hours)
        burst = 4 if rng.random() < 0.01 else 1
        for meter in meters:
            if meter.aggregation == Aggregation.active_seats:
                if (hour + dt.timedelta(hours=utc_offset_hours)).hour != 9 or busy < 0.1:
                    continue
                for member in members:
                    if member in inactive and hour >= inactive[member]:
                        continue
                    if rng.random() < 0.9:
                        counter += 1
                        ts = hour + dt.timedelta(seconds=rng.randint(0, 3 * HOUR))
                        if start <= ts < end:
                            yield {
                                "id": f"{prefix}-{counter}",
                                "meter": meter.key,
                                "member": member,
                                "timestamp": int(ts.timestamp()),
                            }
                continue
            count = int(per_hour * busy * burst * rng.uniform(0.7, 1.3))
            for _ in range(count):
                counter += 1
                ts = hour + dt.timedelta(seconds=rng.randint(0, HOUR - 1))
                if not start <= ts < end:
                    continue
                if meter.aggregation == Aggregation.sum:
                    value = rng.randint(1, 20)
                elif meter.aggregation in (Aggregation.max, Aggregation.last):
                    value = 500 + counter % 700 + rng.randint(0, 50)
                else:
                    value = 1
                event = {
                    "id": f"{prefix}-{counter}",
                    "meter": meter.key,
                    "value": value,
                    "timestamp": int(ts.timestamp()),
                }
                if rng.random() < 0.3:
                    event["properties"] = {"feature": rng.choice(["search", "export", "huddle", "workflow", "api"])}
                yield event
                recent.append(event)
                if duplicate_rate and rng.random() < duplicate_rate and recent:
                    yield dict(rng.choice(recent[-200:]))  # a client retry: the same event again
                if len(recent) > 400:
                    del recent[:200]
        hour += dt.timedelta(hours=1)
