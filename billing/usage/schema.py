"""The events table on PostgreSQL: native partitioning by day on `timestamp`.

The migration creates it partitioned; a schema built straight from the models (the test suite,
`migrate --run-syncdb`) gets a plain table, which `partition_after_migrate` replaces while it is
still empty, so every PostgreSQL database has the same table. Partitions are one UTC day each,
named `<table>_pYYYYMMDD`; beat makes them from the oldest day an event may still carry
(USAGE_LATENESS_DAYS back) to USAGE_PARTITION_DAYS_AHEAD ahead, and drops those older than
USAGE_RETENTION_DAYS. Ingestion makes a missing one on the spot (a beat that did not run).
SQLite keeps one plain table.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)

TABLE = "billing_usage_usageevent"


def is_partitioned(using: str = "default") -> bool:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def create_events_table(schema_editor, model) -> None:
    """CREATE TABLE for the events model: partitioned on PostgreSQL, plain elsewhere."""
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.create_model(model)
        return
    sql, params = schema_editor.table_sql(model)
    schema_editor.execute(f'{sql} PARTITION BY RANGE ("timestamp")', params or None)
    for statement in schema_editor.deferred_sql:
        schema_editor.execute(statement)
    schema_editor.deferred_sql.clear()


def _partition_name(day: dt.date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def ensure_partitions(first: dt.date, last: dt.date, using: str = "default") -> int:
    """Make the day partitions from `first` to `last` (inclusive) that do not exist yet."""
    connection = connections[using]
    if not is_partitioned(using):
        return 0
    made = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        existing = {row[0] for row in cursor.fetchall()}
        day = first
        while day <= last:
            name = _partition_name(day)
            if name not in existing:
                nxt = day + dt.timedelta(days=1)
                cursor.execute(
                    f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{TABLE}" '
                    f"FOR VALUES FROM ('{day.isoformat()} 00:00:00+00') TO ('{nxt.isoformat()} 00:00:00+00')"
                )
                made += 1
            day += dt.timedelta(days=1)
    return made


def partitions(using: str = "default") -> list[str]:
    if not is_partitioned(using):
        return []
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [TABLE],
        )
        return [row[0] for row in cursor.fetchall()]


def maintain(today: dt.date | None = None, using: str = "default") -> dict[str, int]:
    """Beat: partitions for every day an event may carry, and none past the retention."""
    today = today or dt.datetime.now(dt.UTC).date()
    made = ensure_partitions(
        today - dt.timedelta(days=settings.USAGE_LATENESS_DAYS + 1),
        today + dt.timedelta(days=settings.USAGE_PARTITION_DAYS_AHEAD),
        using,
    )
    cutoff = _partition_name(today - dt.timedelta(days=settings.USAGE_RETENTION_DAYS))
    dropped = 0
    with connections[using].cursor() as cursor:
        for name in partitions(using):
            if name < cutoff:
                cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
                dropped += 1
    return {"made": made, "dropped": dropped}


def partition_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """A schema built from the models has a plain events table: make it the partitioned one while
    it is empty (a table with rows is left alone, and said so)."""
    from django.apps import apps

    connection = connections[using]
    if connection.vendor != "postgresql" or is_partitioned(using):
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE])
        if not cursor.fetchone()[0]:
            return
        cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{TABLE}")')
        if cursor.fetchone()[0]:
            log.warning("%s is a plain table with rows; not partitioning it", TABLE)
            return
        cursor.execute(f'DROP TABLE "{TABLE}"')
    with connection.schema_editor() as editor:
        create_events_table(editor, apps.get_model("billing_usage", "UsageEvent"))
    today = dt.datetime.now(dt.UTC).date()
    ensure_partitions(
        today - dt.timedelta(days=settings.USAGE_LATENESS_DAYS + 1),
        today + dt.timedelta(days=settings.USAGE_PARTITION_DAYS_AHEAD),
        using,
    )
