"""Writes of the Stripe gateway app: receiving, applying and replaying events; webhook endpoints."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone

from billing.stripe import mirror, queue
from billing.stripe.gateway import gateway, verify_signature
from billing.stripe.idempotency import key_for
from billing.stripe.models import EventStatus, IntakeRejection, StripeEvent, WebhookEndpoint

log = logging.getLogger(__name__)

# Sent after an event's object is in the mirror, inside the same transaction. Domain apps
# (dunning, usage, notifications) connect here and only update local state or enqueue work.
event_applied = Signal()

MAX_ATTEMPTS = 8


class IntakeError(Exception):
    """A delivery the intake refuses (400): `reason` is counted, `message` is returned."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


_secrets_cache: tuple[float, list[str]] = (0.0, [])


def webhook_secrets() -> list[str]:
    """The configured secret plus those of endpoints we registered, cached for 30 s per process."""
    global _secrets_cache
    loaded_at, secrets = _secrets_cache
    if time.monotonic() - loaded_at > 30:
        secrets = [s for s in [settings.STRIPE_WEBHOOK_SECRET] if s]
        secrets += list(
            WebhookEndpoint.objects.filter(api_base=settings.STRIPE_API_BASE).values_list("secret", flat=True)
        )
        _secrets_cache = (time.monotonic(), secrets)
    return secrets


def forget_webhook_secrets() -> None:
    global _secrets_cache
    _secrets_cache = (0.0, [])


def _count_rejection(reason: str) -> None:
    updated = IntakeRejection.objects.filter(day=timezone.localdate(), reason=reason).update(count=F("count") + 1)
    if not updated:
        try:
            with transaction.atomic():
                IntakeRejection.objects.create(reason=reason, count=1)
        except IntegrityError:
            IntakeRejection.objects.filter(day=timezone.localdate(), reason=reason).update(count=F("count") + 1)


def event_receive(*, body: bytes, signature: str | None) -> tuple[StripeEvent | None, bool]:
    """Verify and store one delivery. Returns (event, is_new). Raises IntakeError for a 400."""
    try:
        if not signature:
            raise IntakeError("missing_signature", "Missing Stripe-Signature header")
        secrets = webhook_secrets()
        if not secrets:
            raise IntakeError("no_secret", "No webhook secret is configured")
        for secret in secrets:
            try:
                verify_signature(body, signature, secret, settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS)
                break
            except ValueError as error:
                last_error = str(error)
        else:
            raise IntakeError("bad_signature", f"Signature verification failed: {last_error}")
        try:
            payload = json.loads(body)
        except ValueError:
            raise IntakeError("not_json", "Body is not JSON") from None
        if (
            not isinstance(payload, dict)
            or payload.get("object") != "event"
            or not isinstance(payload.get("id"), str)
            or not isinstance(payload.get("created"), int)
            or not isinstance(payload.get("data"), dict)
            or not isinstance(payload["data"].get("object"), dict)
        ):
            raise IntakeError("not_an_event", "Body is not a Stripe event")
        if payload.get("api_version") != settings.STRIPE_API_VERSION:
            log.warning(
                "refused event %s of API version %s (pinned %s)",
                payload.get("id"),
                payload.get("api_version"),
                settings.STRIPE_API_VERSION,
            )
            raise IntakeError(
                "api_version",
                f"Event API version {payload.get('api_version')} is not the pinned {settings.STRIPE_API_VERSION}",
            )
    except IntakeError as error:
        _count_rejection(error.reason)
        raise
    obj = (payload.get("data") or {}).get("object") or {}
    event_id = _insert_event(payload, obj, body)
    if event_id is None:
        return None, False  # a duplicate delivery: already stored, nothing to do
    transaction.on_commit(lambda: queue.enqueue(event_id))
    return StripeEvent(pk=event_id, type=payload.get("type", "")), True


def _insert_event(payload: dict, obj: dict, body: bytes) -> str | None:
    """Store the delivery once, in one statement; the raw body is the payload (no re-encoding)."""
    table = connection.ops.quote_name(StripeEvent._meta.db_table)
    payload_param = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    sql = (
        f"INSERT INTO {table} (id, type, api_version, livemode, created, object_type, object_id, payload, "
        "status, attempts, last_error, received_at) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s, {payload_param}, %s, 0, '', %s) "
        "ON CONFLICT (id) DO NOTHING RETURNING id"
    )
    created = dt.datetime.fromtimestamp(int(payload.get("created") or 0), dt.UTC)
    params = [
        str(payload["id"])[:255],
        str(payload.get("type", ""))[:100],
        str(payload.get("api_version") or "")[:64],
        bool(payload.get("livemode")),
        created,
        str(obj.get("object", ""))[:64],
        str(obj.get("id", ""))[:255],
        body.decode("utf-8"),
        EventStatus.received,
        timezone.now(),
    ]
    field = StripeEvent._meta.get_field("created")
    params[4] = field.get_db_prep_save(created, connection)
    params[9] = field.get_db_prep_save(params[9], connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(6 * 3600, 30 * 4 ** max(0, attempts - 1)))


def event_process(*, event_id: str) -> str:
    """Apply a stored event to the mirror. Safe to call twice, and from several workers."""
    return events_process(event_ids=[event_id]).get(event_id, "skipped")


def events_process(*, event_ids: list[str]) -> dict[str, str]:
    """Apply a batch of stored events, each in its own transaction. Returns id -> status.

    Statuses are written for the whole batch at the end (one UPDATE per outcome): if the worker
    dies before that, the events are applied again, which changes nothing (the claims see the same
    state) — cheaper than a status write inside every event's transaction.
    """
    events = StripeEvent.objects.filter(pk__in=event_ids).only("pk", "payload", "status", "attempts")
    by_id = {event.pk: event for event in events}
    results: dict[str, str] = {}
    done: dict[str, list[str]] = {mirror.Outcome.applied: [], mirror.Outcome.ignored: [], mirror.Outcome.stale: []}
    for event_id in event_ids:
        event = by_id.get(event_id)
        if event is None or event.status in (EventStatus.applied, EventStatus.ignored):
            results[event_id] = "skipped"  # already done (a duplicate message, or a replay racing a retry)
            continue
        outcome = _apply_one(event)
        if outcome is None:
            results[event_id] = StripeEvent.objects.filter(pk=event_id).values_list("status", flat=True).first()
            continue
        done[outcome].append(event_id)
        results[event_id] = EventStatus.ignored if outcome == mirror.Outcome.ignored else EventStatus.applied
    now = timezone.now()
    for outcome, ids in done.items():
        if ids:
            StripeEvent.objects.filter(pk__in=ids).update(
                status=EventStatus.ignored if outcome == mirror.Outcome.ignored else EventStatus.applied,
                attempts=F("attempts") + 1,
                processed_at=now,
                next_attempt_at=None,
                last_error="superseded by a newer state" if outcome == mirror.Outcome.stale else "",
            )
    return results


def _apply_one(event: StripeEvent) -> str | None:
    """Apply one event in its own transaction; on failure record it and return None."""
    last: Exception | None = None
    for _ in range(3):
        try:
            with transaction.atomic():
                outcome = mirror.apply_event(event.payload)
                if outcome == mirror.Outcome.applied:
                    event_applied.send(sender=StripeEvent, event=event)
            return outcome
        except (OperationalError, IntegrityError) as error:
            # A deadlock, a lock timeout, or a parent deleted by another worker since this process
            # last saw it: forget what we remember and try again at once.
            mirror.known_rows.forget()
            last = error
            time.sleep(0.05)
        except Exception as error:  # noqa: BLE001 — any failure is recorded on the event
            last = error
            break
    mirror.known_rows.forget()
    attempts = event.attempts + 1
    dead = attempts >= MAX_ATTEMPTS
    StripeEvent.objects.filter(pk=event.pk).update(
        status=EventStatus.dead if dead else EventStatus.failed,
        attempts=attempts,
        last_error=f"{type(last).__name__}: {last}"[:2000],
        next_attempt_at=None if dead else timezone.now() + _retry_delay(attempts),
        processed_at=timezone.now(),
    )
    log.warning("event %s failed (attempt %d): %s", event.pk, attempts, type(last).__name__)
    return None


def event_replay(*, event_ids: Iterable[str]) -> int:
    """Put events back in the queue (failed, dead, or any chosen). Returns how many."""
    ids = list(event_ids)
    StripeEvent.objects.filter(pk__in=ids).update(status=EventStatus.received, next_attempt_at=None)
    for event_id in ids:
        transaction.on_commit(lambda event_id=event_id: queue.enqueue(event_id))
    return len(ids)


def webhook_endpoint_register(*, url: str) -> WebhookEndpoint:
    """Register our intake with Stripe (or the sandbox) once per URL and base, keeping its secret."""
    existing = WebhookEndpoint.objects.filter(url=url, api_base=settings.STRIPE_API_BASE).first()
    client = gateway()
    if existing:
        remote_ids = {e["id"] for e in client.list_all("/v1/webhook_endpoints")}
        if existing.stripe_id in remote_ids:
            return existing
        existing.delete()  # the sandbox was reset, or someone removed it in Stripe's dashboard
    created = client.post(
        "/v1/webhook_endpoints",
        {
            "url": url,
            "enabled_events": ["*"],
            "api_version": settings.STRIPE_API_VERSION,
            "description": "Billing portal intake",
        },
        idempotency_key=key_for("webhook_endpoint.create", f"{settings.STRIPE_API_BASE}|{url}", int(time.time())),
    )
    endpoint = WebhookEndpoint.objects.create(
        stripe_id=created["id"],
        url=url,
        api_base=settings.STRIPE_API_BASE,
        api_version=settings.STRIPE_API_VERSION,
        secret=created["secret"],
    )
    forget_webhook_secrets()
    return endpoint
