"""The webhook intake: verify a delivery, store it once, hand it to the queue. Nothing else.

The answer goes back to Stripe at once; applying the event is the workers' job (`processing`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

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


# Stripe's event ids are `evt_` and letters, digits or underscores (`evt_1NG8Du2eZvKYlo2CUI79vXWy`,
# `evt_test_…`). Object ids are looser: coupons, products and plans made before 2018-05-21 carry ids
# their owners chose, so an object id only has to be printable. Both fit the 255-character columns.
EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]{1,251}")
OBJECT_ID = re.compile(r"[^\x00-\x1f\x7f]{1,255}")
EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,100}")
OBJECT_TYPE = re.compile(r"[a-z0-9_.]{1,64}")
# Unix seconds that a datetime holds (years 1970-9999); Stripe's test clocks may run years ahead.
CREATED_RANGE = range(0, 253_402_300_800)
# Stripe's objects nest a dozen levels at most; far deeper bodies only exhaust the stack downstream.
MAX_DEPTH = 64

_secrets_cache: tuple[float, list[str]] = (0.0, [])


@sensitive_variables("secrets")
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


def refused(reason: str, message: str) -> IntakeError:
    """Count a refused delivery; the caller raises or answers with the returned error."""
    _count_rejection(reason)
    return IntakeError(reason, message)


def _count_rejection(reason: str) -> None:
    updated = IntakeRejection.objects.filter(day=timezone.localdate(), reason=reason).update(count=F("count") + 1)
    if not updated:
        try:
            with transaction.atomic():
                IntakeRejection.objects.create(reason=reason, count=1)
        except IntegrityError:
            IntakeRejection.objects.filter(day=timezone.localdate(), reason=reason).update(count=F("count") + 1)


@sensitive_variables("secret", "secrets", "signature")
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
        payload = _parse(body)
        _check_event(payload)
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
    obj = payload["data"]["object"]
    event_id = _insert_event(payload, obj, body)
    if event_id is None:
        return None, False  # a duplicate delivery: already stored, nothing to do
    transaction.on_commit(lambda: queue.enqueue(event_id))
    return StripeEvent(pk=event_id, type=payload["type"]), True


def _parse(body: bytes) -> dict:
    # PostgreSQL's jsonb cannot hold U+0000; Stripe never sends it.
    if b"\\u0000" in body:
        raise IntakeError("bad_payload", "Body contains a NUL character (\\u0000)")
    try:
        payload = json.loads(body)
    except RecursionError:
        raise IntakeError("too_deep", f"Body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise IntakeError("not_json", "Body is not JSON") from None
    if _depth_exceeds(payload, MAX_DEPTH):
        raise IntakeError("too_deep", f"Body nests deeper than {MAX_DEPTH} levels")
    return payload


def _depth_exceeds(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _check_event(payload) -> None:
    """The fields the intake stores must have Stripe's shapes: a body that fits no column is a 400."""
    if (
        not isinstance(payload, dict)
        or payload.get("object") != "event"
        or not isinstance(payload.get("id"), str)
        or not isinstance(payload.get("type"), str)
        or type(payload.get("created")) is not int
        or not isinstance(payload.get("data"), dict)
        or not isinstance(payload["data"].get("object"), dict)
    ):
        raise IntakeError("not_an_event", "Body is not a Stripe event")
    if not EVENT_ID.fullmatch(payload["id"]):
        raise IntakeError("bad_id", "Event id is not a Stripe event id (evt_ and at most 255 letters, digits or _)")
    if not EVENT_TYPE.fullmatch(payload["type"]):
        raise IntakeError("not_an_event", "Event type is not a Stripe event type")
    if payload["created"] not in CREATED_RANGE:
        raise IntakeError("bad_created", "Event created time is not a Unix time between 1970 and 9999")
    obj = payload["data"]["object"]
    object_id, object_type = obj.get("id", ""), obj.get("object", "")
    # Some objects have no id (a `balance`): stored with an empty one.
    if object_id != "" and not (isinstance(object_id, str) and OBJECT_ID.fullmatch(object_id)):
        raise IntakeError("bad_id", "Object id is not a printable string of at most 255 characters")
    if object_type != "" and not (isinstance(object_type, str) and OBJECT_TYPE.fullmatch(object_type)):
        raise IntakeError("not_an_event", "Object type is not a Stripe object type")


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
    created = dt.datetime.fromtimestamp(payload["created"], dt.UTC)
    params = [
        payload["id"],
        payload["type"],
        payload["api_version"],
        bool(payload.get("livemode")),
        created,
        obj.get("object", ""),
        obj.get("id", ""),
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
