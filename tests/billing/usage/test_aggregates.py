"""Aggregates equal a reference computation on a generated stream with duplicates and late events."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest
from django.utils import timezone

from billing.usage import ingest, periods
from billing.usage.generator import stream
from billing.usage.models import UsageDay, UsageEvent, UsagePeriod

pytestmark = pytest.mark.django_db


def test_daily_aggregates_and_period_totals_match_a_reference(meters, people):
    rng = random.Random(7)
    now = timezone.now().replace(microsecond=0)
    start = now - dt.timedelta(days=6, hours=5)
    events = list(
        stream(
            rng=rng,
            prefix="ref",
            meters=[meters.calls, meters.runs, meters.storage],
            start=start,
            end=now,
            per_hour=40,
            duplicate_rate=0.1,
        )
    )
    # An invoiced period ending three days ago: events before its end arrive late.
    closed_end = now - dt.timedelta(days=3)
    for meter in (meters.calls, meters.runs, meters.storage):
        UsagePeriod.objects.create(
            organisation=people.acme, meter=meter, customer_id="cus_acme", subscription_id="sub_x",
            subscription_item_id=f"si_{meter.key}", currency="usd", start=closed_end - dt.timedelta(days=30),
            end=closed_end, closed_at=closed_end,
        )  # fmt: skip
    rng.shuffle(events)  # arrival order is not time order
    for i in range(0, len(events), 500):
        ingest.ingest(people.acme, events[i : i + 500])
        if i == 1000:
            ingest.ingest(people.acme, events[:500])  # a whole batch replayed
    assert len(events) > 3000

    unique = {}
    for e in events:
        unique.setdefault(e["id"], e)
    assert len(unique) < len(events)  # the stream had duplicates
    reference = defaultdict(lambda: {"total": 0, "events": 0, "maximum": 0, "late": 0, "last": (None, None)})
    for e in unique.values():
        when = dt.datetime.fromtimestamp(e["timestamp"], dt.UTC)
        row = reference[(e["meter"], when.date())]
        row["total"] += e["value"]
        row["events"] += 1
        row["maximum"] = max(row["maximum"], e["value"])
        row["late"] += when < closed_end
        if row["last"][0] is None or (when, e["id"]) > row["last"][0]:
            row["last"] = ((when, e["id"]), e["value"])

    stored = {
        (d.meter.key, d.day): {
            "total": d.total, "events": d.events, "maximum": d.maximum, "late": d.late_events, "last": d.last_value
        }
        for d in UsageDay.objects.select_related("meter")
    }  # fmt: skip
    expected = {
        k: {**{n: v[n] for n in ("total", "events", "maximum", "late")}, "last": v["last"][1]}
        for k, v in reference.items()
    }
    assert stored == expected
    assert UsageEvent.objects.count() == len(unique)
    assert UsageEvent.objects.filter(late=True).count() == sum(v["late"] for v in reference.values())

    # Any window, partial days at both ends included.
    lo, hi = start + dt.timedelta(hours=29, minutes=17), now - dt.timedelta(hours=30, minutes=41)
    window = [e for e in unique.values() if lo.timestamp() <= e["timestamp"] < hi.timestamp()]
    for meter in (meters.calls, meters.runs, meters.storage):
        mine = [e for e in window if e["meter"] == meter.key]
        got = periods.totals(people.acme.pk, meter.pk, lo, hi)
        assert got.total == sum(e["value"] for e in mine)
        assert got.events == len(mine)
        assert got.maximum == max(e["value"] for e in mine)
        newest = max(mine, key=lambda e: (e["timestamp"], e["id"]))
        assert got.last_value == newest["value"] or int(got.last_at.timestamp()) == newest["timestamp"]
