"""The webhook intake: verify a delivery, store it once, hand it to the queue. Nothing else.

The answer goes back to Stripe at once; applying the event is the workers' job (`processing`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from billing.stripe import queue
from billing.stripe.gateway import verify_signature
from billing.stripe.models import EventStatus, IntakeRejection, StripeEvent, WebhookEndpoint

log = logging.getLogger(__name__)


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
            WebhookEndpoint.objects.filter(api_base=settings.STRIPE_API_BASE)
            .exclude(secret="")
            .values_list("secret", flat=True)
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
