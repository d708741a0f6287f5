"""Ingesting a batch of usage events: validate each, store the new ones once, keep the aggregates.

Validation is per event: a bad event gets an error with its index and code, and never stops the
good ones. Storage on PostgreSQL is ONE statement per batch: the batch as arrays (`unnest`), the
(organisation, event id) keys inserted `ON CONFLICT DO NOTHING`, the events whose key was new
inserted into the partitioned table, the daily aggregates and members' activity upserted from
those rows — all or nothing, and a replayed batch changes nothing. Rows are sorted by event id
and aggregates by (meter, day), so concurrent batches take their locks in the same order.
On SQLite (one writer at a time) the same steps run as a few statements in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import Membership, Organisation
from billing.usage import schema
from billing.usage.models import (
    Aggregation,
    Meter,
    SeatActivity,
    UsageDay,
    UsageEvent,
    UsageEventKey,
    UsagePeriod,
)

MAX_VALUE = 10**15
MAX_ID_LENGTH = 100
MAX_PROPERTIES = 50
MAX_PROPERTIES_BYTES = 4096
FIELDS = {"id", "organisation", "meter", "value", "timestamp", "properties", "member"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class Row:
    event_id: str
    meter: Meter
    ts: float  # Unix seconds
    value: int
    member: str = ""
    membership_id: int = 0
    properties: dict | None = None
    late: bool = False


@dataclass
class Outcome:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    late: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": len(self.errors),
            "late": self.late,
            "errors": self.errors,
        }


class BatchError(ValueError):
    """The batch as a whole cannot be read (not per event): a 400 with this message."""

    def __init__(self, message: str, code: str = "invalid_batch", status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


def _error(index: int, event_id, code: str, message: str) -> dict:
    return {"index": index, "id": event_id if isinstance(event_id, str) else None, "code": code, "message": message}


def _timestamp(raw, now: float) -> float | str:
    """Unix seconds, or an error message."""
    if raw is None:
        return now
    if isinstance(raw, bool):
        return "timestamp must be Unix seconds or an RFC 3339 date-time"
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            return "timestamp must be a finite number"
        return float(raw)
    if isinstance(raw, str) and 10 <= len(raw) <= 40:
        try:
            parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
        except ValueError:
            return "timestamp is not an RFC 3339 date-time"
        if parsed.tzinfo is None:
            return "timestamp needs a time zone (e.g. 2026-01-31T12:00:00Z)"
        return parsed.timestamp()
    return "timestamp must be Unix seconds or an RFC 3339 date-time"


def closed_through(organisation: Organisation) -> dict[int, float]:
    """Per meter: the end of the organisation's last invoiced period. Events before it are late."""
    ends: dict[int, float] = {}
    for meter_id, end in UsagePeriod.objects.filter(organisation=organisation, closed_at__isnull=False).values_list(
        "meter_id", "end"
    ):
        ends[meter_id] = max(ends.get(meter_id, 0.0), end.timestamp())
    return ends


def validate(
    raw_events: list, *, organisation: Organisation, meters: dict[str, Meter], now: float
) -> tuple[list[Row], list[dict]]:
    """Rows for the valid events; errors for the others, by index."""
    rows: list[Row] = []
    errors: list[dict] = []
    seen: set[str] = set()
    oldest = now - settings.USAGE_LATENESS_DAYS * 86400
    newest = now + settings.USAGE_FUTURE_SECONDS
    members: dict[str, int] | None = None
    late_after = None
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            errors.append(_error(index, None, "invalid_event", "each event must be a JSON object"))
            continue
        event_id = raw.get("id")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_ID_LENGTH or not event_id.isprintable():
            errors.append(
                _error(index, None, "invalid_id", f"id must be a printable string of 1 to {MAX_ID_LENGTH} characters")
            )
            continue
        if not raw.keys() <= FIELDS:
            unknown = ", ".join(sorted(str(k) for k in raw if k not in FIELDS))[:200]
            errors.append(_error(index, event_id, "unknown_field", f"unknown field(s): {unknown}"))
            continue
        if event_id in seen:
            errors.append(_error(index, event_id, "duplicate_in_batch", "this id appears earlier in the batch"))
            continue
        seen.add(event_id)
        org = raw.get("organisation")
        if org is not None and org != organisation.slug:
            errors.append(_error(index, event_id, "wrong_organisation", "this API key belongs to another organisation"))
            continue
        meter = meters.get(raw.get("meter")) if isinstance(raw.get("meter"), str) else None
        if meter is None:
            errors.append(_error(index, event_id, "unknown_meter", "meter is not one of this portal's active meters"))
            continue
        value = raw.get("value")
        if value is None and meter.aggregation in (Aggregation.count, Aggregation.active_seats):
            value = 1
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(_error(index, event_id, "invalid_value", "value must be a whole number"))
            continue
        if value < 0:
            errors.append(_error(index, event_id, "negative_value", "value must not be negative"))
            continue
        if value > MAX_VALUE:
            errors.append(_error(index, event_id, "invalid_value", f"value must be at most {MAX_VALUE}"))
            continue
        ts = _timestamp(raw.get("timestamp"), now)
        if isinstance(ts, str):
            errors.append(_error(index, event_id, "invalid_timestamp", ts))
            continue
        if ts > newest:
            errors.append(_error(index, event_id, "timestamp_in_future", "timestamp is too far in the future"))
            continue
        if ts < oldest:
            errors.append(
                _error(
                    index,
                    event_id,
                    "timestamp_too_old",
                    f"timestamp is more than {settings.USAGE_LATENESS_DAYS} days in the past",
                )
            )
            continue
        properties = raw.get("properties")
        if not properties:
            properties = None
        elif not isinstance(properties, dict) or len(properties) > MAX_PROPERTIES:
            errors.append(
                _error(index, event_id, "invalid_properties", f"properties must be an object of ≤{MAX_PROPERTIES} keys")
            )
            continue
        else:
            encoded = json.dumps(properties, ensure_ascii=False, separators=(",", ":"))
            if len(encoded) > MAX_PROPERTIES_BYTES or "\\u0000" in encoded:
                errors.append(
                    _error(index, event_id, "invalid_properties", f"properties must be ≤{MAX_PROPERTIES_BYTES} bytes")
                )
                continue
        if properties is not None and not isinstance(properties, dict):
            errors.append(_error(index, event_id, "invalid_properties", "properties must be an object"))
            continue
        row = Row(event_id, meter, ts, value, properties=properties)
        member = raw.get("member")
        if meter.aggregation == Aggregation.active_seats:
            if members is None:
                members = _members(organisation)
            key = member.strip().lower() if isinstance(member, str) else ""
            if key not in members:
                errors.append(
                    _error(
                        index, event_id, "unknown_member", "member must be the email of a member of the organisation"
                    )
                )
                continue
            row.member, row.membership_id = key, members[key]
        elif member is not None:
            errors.append(_error(index, event_id, "unknown_field", "member is only for active-seat meters"))
            continue
        if late_after is None:
            late_after = closed_through(organisation)
        row.late = ts < late_after.get(meter.pk, 0.0)
        rows.append(row)
    return rows, errors


def _members(organisation: Organisation) -> dict[str, int]:
    return {
        email.lower(): pk
        for pk, email in Membership.objects.filter(organisation=organisation).values_list("pk", "user__email")
        if email
    }


def active_meters() -> dict[str, Meter]:
    return {m.key: m for m in Meter.objects.filter(active=True)}


def ingest(
    organisation: Organisation, raw_events: list, *, now: float | None = None, meters: dict[str, Meter] | None = None
) -> Outcome:
    """Validate and store one batch. `now` is the clock events are judged by (the demo's test clocks)."""
    now = timezone.now().timestamp() if now is None else now
    rows, errors = validate(raw_events, organisation=organisation, meters=meters or active_meters(), now=now)
    outcome = Outcome(received=len(raw_events), errors=errors)
    if rows:
        stored, late = _store(organisation, rows, now)
        outcome.accepted, outcome.late = stored, late
        outcome.duplicates = len(rows) - stored
    return outcome


def _store(organisation: Organisation, rows: list[Row], now: float) -> tuple[int, int]:
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                return _store_postgresql(organisation.pk, rows, now)
        except DatabaseError as error:
            if "no partition" not in str(error):
                raise
        days = [dt.datetime.fromtimestamp(r.ts, dt.UTC).date() for r in rows]
        schema.ensure_partitions(min(days), max(days))
        with transaction.atomic():
            return _store_postgresql(organisation.pk, rows, now)
    with transaction.atomic():
        return _store_sqlite(organisation, rows, now)


_PG_INSERT = """
WITH batch AS (
    SELECT i AS event_id, m AS meter_id, t AS ts, v AS value, coalesce(u, '') AS member,
           coalesce(s, 0) AS membership_id, coalesce(p, '{}') AS properties, coalesce(l, false) AS late
    FROM json_to_recordset(%(batch)s::json)
        AS r(i varchar, m bigint, t float8, v bigint, u varchar, s bigint, p jsonb, l bool)
), fresh AS (
    INSERT INTO billing_usage_usageeventkey (organisation_id, event_id, received_at)
    SELECT %(org)s, event_id, to_timestamp(%(now)s) FROM batch ORDER BY event_id
    ON CONFLICT DO NOTHING
    RETURNING event_id
), stored AS (
    INSERT INTO billing_usage_usageevent
        (organisation_id, meter_id, "timestamp", event_id, value, member, properties, received_at, late)
    SELECT %(org)s, b.meter_id, to_timestamp(b.ts), b.event_id, b.value, b.member, b.properties,
           to_timestamp(%(now)s), b.late
    FROM batch b JOIN fresh f ON f.event_id = b.event_id
    RETURNING meter_id, "timestamp", value, late, event_id
), days AS (
    INSERT INTO billing_usage_usageday
        (organisation_id, meter_id, day, total, events, maximum, last_value, last_at, late_events, updated_at)
    SELECT %(org)s, meter_id, ("timestamp" AT TIME ZONE 'UTC')::date, sum(value), count(*), max(value),
           (array_agg(value ORDER BY "timestamp" DESC, event_id DESC))[1], max("timestamp"),
           count(*) FILTER (WHERE late), now()
    FROM stored GROUP BY 2, 3 ORDER BY 2, 3
    ON CONFLICT (organisation_id, meter_id, day) DO UPDATE SET
        total = billing_usage_usageday.total + EXCLUDED.total,
        events = billing_usage_usageday.events + EXCLUDED.events,
        maximum = GREATEST(billing_usage_usageday.maximum, EXCLUDED.maximum),
        last_value = CASE
            WHEN billing_usage_usageday.last_at IS NULL OR EXCLUDED.last_at >= billing_usage_usageday.last_at
            THEN EXCLUDED.last_value ELSE billing_usage_usageday.last_value END,
        last_at = GREATEST(billing_usage_usageday.last_at, EXCLUDED.last_at),
        late_events = billing_usage_usageday.late_events + EXCLUDED.late_events,
        updated_at = EXCLUDED.updated_at
    RETURNING 1
), seats AS (
    INSERT INTO billing_usage_seatactivity (organisation_id, membership_id, day, first_seen, last_seen)
    SELECT %(org)s, b.membership_id, (s."timestamp" AT TIME ZONE 'UTC')::date, min(s."timestamp"), max(s."timestamp")
    FROM stored s JOIN batch b ON b.event_id = s.event_id
    WHERE b.membership_id > 0
    GROUP BY 2, 3 ORDER BY 2, 3
    ON CONFLICT (membership_id, day) DO UPDATE SET
        first_seen = LEAST(billing_usage_seatactivity.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(billing_usage_seatactivity.last_seen, EXCLUDED.last_seen)
    RETURNING 1
)
SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM stored WHERE late),
       (SELECT count(*) FROM days), (SELECT count(*) FROM seats)
"""


def _store_postgresql(org_id: int, rows: list[Row], now: float) -> tuple[int, int]:
    # The batch travels as one JSON document (psycopg's per-element array quoting costs more than
    # the insert); defaults are left out to keep it short.
    batch = []
    for r in rows:
        item = {"i": r.event_id, "m": r.meter.pk, "t": r.ts, "v": r.value}
        if r.properties:
            item["p"] = r.properties
        if r.membership_id:
            item["u"], item["s"] = r.member, r.membership_id
        if r.late:
            item["l"] = True
        batch.append(item)
    params = {"org": org_id, "now": now, "batch": json.dumps(batch, separators=(",", ":"))}
    with connection.cursor() as cursor:
        cursor.execute(_PG_INSERT, params)
        stored, late, _, _ = cursor.fetchone()
    return stored, late


def _when(ts: float) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=ts)


def _store_sqlite(organisation: Organisation, rows: list[Row], now: float) -> tuple[int, int]:
    received = _when(now)
    ids = [r.event_id for r in rows]
    existing: set[str] = set()
    for start in range(0, len(ids), 500):
        existing.update(
            UsageEventKey.objects.filter(organisation=organisation, event_id__in=ids[start : start + 500]).values_list(
                "event_id", flat=True
            )
        )
    fresh = [r for r in rows if r.event_id not in existing]
    if not fresh:
        return 0, 0
    UsageEventKey.objects.bulk_create(
        [UsageEventKey(organisation=organisation, event_id=r.event_id, received_at=received) for r in fresh],
        batch_size=500,
    )
    UsageEvent.objects.bulk_create(
        [
            UsageEvent(
                organisation=organisation,
                meter_id=r.meter.pk,
                timestamp=_when(r.ts),
                event_id=r.event_id,
                value=r.value,
                member=r.member,
                properties=r.properties or {},
                received_at=received,
                late=r.late,
            )
            for r in fresh
        ],
        batch_size=500,
    )
    days: dict[tuple[int, dt.date], list[Row]] = defaultdict(list)
    activity: dict[tuple[int, dt.date], list[float]] = defaultdict(list)
    for r in fresh:
        day = _when(r.ts).date()
        days[(r.meter.pk, day)].append(r)
        if r.membership_id:
            activity[(r.membership_id, day)].append(r.ts)
    for (meter_id, day), group in sorted(days.items()):
        latest = max(group, key=lambda r: (r.ts, r.event_id))
        agg, _ = UsageDay.objects.get_or_create(organisation=organisation, meter_id=meter_id, day=day)
        agg.total += sum(r.value for r in group)
        agg.events += len(group)
        agg.maximum = max(agg.maximum, max(r.value for r in group))
        if agg.last_at is None or _when(latest.ts) >= agg.last_at:
            agg.last_value, agg.last_at = latest.value, _when(latest.ts)
        agg.late_events += sum(1 for r in group if r.late)
        agg.updated_at = timezone.now()
        agg.save()
    for (membership_id, day), times in sorted(activity.items()):
        seen, created = SeatActivity.objects.get_or_create(
            membership_id=membership_id,
            day=day,
            defaults={"organisation": organisation, "first_seen": _when(min(times)), "last_seen": _when(max(times))},
        )
        if not created:
            seen.first_seen = min(seen.first_seen, _when(min(times)))
            seen.last_seen = max(seen.last_seen, _when(max(times)))
            seen.save(update_fields=["first_seen", "last_seen"])
    return len(fresh), sum(1 for r in fresh if r.late)
