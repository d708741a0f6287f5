"""The events table on PostgreSQL: partitioned by day, partitions made ahead by beat, old ones dropped,
a missing one made on the spot."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from billing.usage import ingest, schema
from billing.usage.models import UsageEvent

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="native partitioning is PostgreSQL's; set DATABASE_URL"
    ),
]


def test_the_events_table_is_partitioned_by_day(meters, people, settings):
    assert schema.is_partitioned()
    today = timezone.now().date()
    names = schema.partitions()
    assert f"{schema.TABLE}_p{today:%Y%m%d}" in names
    # Made ahead when the test database was built, which may be yesterday if the run crossed midnight
    # (beat makes the next day's each day): one day of slack.
    ahead = settings.USAGE_PARTITION_DAYS_AHEAD - 1
    assert f"{schema.TABLE}_p{today + dt.timedelta(days=ahead):%Y%m%d}" in names


def test_beat_makes_partitions_ahead_and_drops_old_ones(db, settings):
    settings.USAGE_RETENTION_DAYS = 60
    old_day = timezone.now().date() - dt.timedelta(days=90)
    schema.ensure_partitions(old_day, old_day)
    assert f"{schema.TABLE}_p{old_day:%Y%m%d}" in schema.partitions()
    later = timezone.now().date() + dt.timedelta(days=20)
    done = schema.maintain(today=later)
    names = schema.partitions()
    assert done["made"] >= 20 and done["dropped"] >= 1
    assert f"{schema.TABLE}_p{old_day:%Y%m%d}" not in names
    assert f"{schema.TABLE}_p{later + dt.timedelta(days=settings.USAGE_PARTITION_DAYS_AHEAD):%Y%m%d}" in names


def test_an_event_for_a_day_without_a_partition_gets_one(meters, people):
    when = timezone.now() - dt.timedelta(days=3)
    name = f"{schema.TABLE}_p{when.date():%Y%m%d}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{name}"')
    outcome = ingest.ingest(people.acme, [{"id": "x", "meter": "api_calls", "value": 2, "timestamp": when.timestamp()}])
    assert outcome.accepted == 1
    assert name in schema.partitions()
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{name}"')
        assert cursor.fetchone()[0] == 1
    assert UsageEvent.objects.count() == 1
