"""Apply Stripe objects to the dj-stripe mirror straight from their payloads, newest state wins.

No call to Stripe in the ordinary case, a handful of statements per object, safe under
concurrent workers:

- `claim_many()` records the newest (event time, rank) applied per object in one upsert whose row
  lock serialises writers of that object; an older event finds a newer claim and is superseded.
- Stripe's `created` has one-second resolution and Stripe does not order events within a second.
  Two events of one object in the same second with the same rank and *different* states are a
  tie that no payload can settle: the object is fetched from Stripe once (`settle_tie`), and the
  fetched state is written at that version. Once Stripe's answer is at least two seconds younger
  than the tied second, no event of that second can be newer, and the version is marked settled.
- Writing rows is `upsert.Writer`'s job.
"""

from __future__ import annotations

import logging
import time

from django.db import connection, transaction

from billing.stripe.errors import InvalidRequest
from billing.stripe.gateway import gateway
from billing.stripe.models import ObjectVersion
from billing.stripe.upsert import (  # noqa: F401  (re-exported: the mirror's public names)
    OBJECT_MODELS,
    OBJECT_TYPE_OF_MODEL,
    KnownRows,
    MissingParent,
    Writer,
    known_rows,
    plan_for,
)

log = logging.getLogger(__name__)

_TERMINAL_SUFFIXES = (
    ".paid",
    ".payment_succeeded",
    ".voided",
    ".marked_uncollectible",
    ".succeeded",
    ".canceled",
    ".closed",
)

# Where Stripe answers for one object of a type that has events of its own.
RETRIEVE_PATHS = {
    "customer": "/v1/customers/{id}",
    "payment_method": "/v1/payment_methods/{id}",
    "product": "/v1/products/{id}",
    "price": "/v1/prices/{id}",
    "subscription": "/v1/subscriptions/{id}",
    "subscription_schedule": "/v1/subscription_schedules/{id}",
    "tax_id": "/v1/tax_ids/{id}",
    "invoice": "/v1/invoices/{id}",
    "invoiceitem": "/v1/invoiceitems/{id}",
    "payment_intent": "/v1/payment_intents/{id}",
    "charge": "/v1/charges/{id}",
    "refund": "/v1/refunds/{id}",
    "dispute": "/v1/disputes/{id}",
    "review": "/v1/reviews/{id}",
    "radar.early_fraud_warning": "/v1/radar/early_fraud_warnings/{id}",
    "tax_rate": "/v1/tax_rates/{id}",
    "setup_intent": "/v1/setup_intents/{id}",
    "checkout.session": "/v1/checkout/sessions/{id}",
    "mandate": "/v1/mandates/{id}",
    "coupon": "/v1/coupons/{id}",
}  # discounts have no endpoint of their own: a tie on one is left to its next event
# Stripe's answer settles a tied second once it is at least this much younger than it.
SETTLED_AFTER_SECONDS = 2


def rank_of(event_type: str) -> int:
    """Order of events of one object within the same second (Stripe's `created` has 1 s resolution)."""
    if event_type.endswith(".created"):
        return 0
    if event_type.endswith(".deleted"):
        return 3
    if event_type.endswith(_TERMINAL_SUFFIXES):
        return 2
    return 1


def claim(*, stripe_id: str, object_type: str, created: int, rank: int, event_id: str, deleted: bool) -> bool:
    """Record this state as the newest for the object, unless a newer one is already applied.

    The upsert's row lock is held until the transaction ends, so writers of one object queue.
    """
    return bool(claim_many([(stripe_id, object_type, created, rank, event_id, deleted)]))


def claim_many(claims: list[tuple[str, str, int, int, str, bool]]) -> set[str]:
    """`claim` for many objects in one statement; returns the ids this writer may write.

    A claim wins over a strictly older (time, rank), and over the same (time, rank) only when it is
    the same event again (a duplicate delivery) and the version was not settled from Stripe.
    """
    if not claims:
        return set()
    unique = {c[0]: c for c in claims}  # one row per object per statement
    table = connection.ops.quote_name(ObjectVersion._meta.db_table)
    sql = (
        f"INSERT INTO {table} (stripe_id, object_type, event_created, rank, event_id, deleted, settled) VALUES "
        + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(unique))
        + " ON CONFLICT (stripe_id) DO UPDATE SET "
        "event_created = EXCLUDED.event_created, rank = EXCLUDED.rank, event_id = EXCLUDED.event_id, "
        "deleted = EXCLUDED.deleted, settled = EXCLUDED.settled "
        f"WHERE NOT {table}.deleted AND ({table}.event_created < EXCLUDED.event_created OR "
        f"({table}.event_created = EXCLUDED.event_created AND ({table}.rank < EXCLUDED.rank OR "
        f"({table}.rank = EXCLUDED.rank AND {table}.event_id = EXCLUDED.event_id AND NOT {table}.settled)))) "
        "RETURNING stripe_id"
    )
    params = [value for claim_row in sorted(unique.values()) for value in (*claim_row, False)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


class Outcome:
    applied = "applied"
    ignored = "ignored"
    stale = "stale"


def is_delete(event_type: str, obj: dict) -> bool:
    if obj.get("deleted") is True:
        return True
    # customer.subscription.deleted means "canceled": the subscription stays, with its status.
    return event_type.endswith(".deleted") and obj.get("object") != "subscription"


def apply_event(payload: dict, *, writer: Writer | None = None) -> str:
    """Apply one event's object to the mirror. Returns an `Outcome`."""
    obj = (payload.get("data") or {}).get("object") or {}
    model = OBJECT_MODELS.get(obj.get("object", ""))
    if model is None or not obj.get("id"):
        return Outcome.ignored
    writer = writer or Writer()
    deleting = is_delete(payload["type"], obj)
    created, rank = int(payload["created"]), rank_of(payload["type"])
    with transaction.atomic(savepoint=False):
        writer.statements += 1
        if not claim(
            stripe_id=obj["id"],
            object_type=obj["object"],
            created=created,
            rank=rank,
            event_id=payload["id"],
            deleted=deleting,
        ):
            return settle_tie(obj, created=created, rank=rank, deleting=deleting, writer=writer)
        if deleting:
            writer.delete(model, obj["id"])
        else:
            writer.add(obj, fresh=payload["type"].endswith(".created"))
            writer.flush()
    return Outcome.applied


def settle_tie(obj: dict, *, created: int, rank: int, deleting: bool, writer: Writer) -> str:
    """Called when a claim lost. If it lost to another event of the same second and rank whose
    state differs from this one, ask Stripe which state is current; otherwise it is just older."""
    version = ObjectVersion.objects.select_for_update().filter(stripe_id=obj["id"]).first()
    if (
        version is None
        or version.deleted
        or version.settled
        or (version.event_created, version.rank)
        != (
            created,
            rank,
        )
    ):
        return Outcome.stale
    model = OBJECT_MODELS[obj["object"]]
    current = model.objects.filter(id=obj["id"]).values_list("stripe_data", flat=True).first()
    if not deleting and current == obj:
        return Outcome.applied  # the same state twice: nothing to settle
    path = RETRIEVE_PATHS.get(obj["object"])
    if path is None:
        return Outcome.stale  # a child object (items, lines) follows its parent's version
    asked_at = time.time()
    try:
        fresh = gateway().get(path.format(id=obj["id"]))
    except InvalidRequest as error:
        if error.http_status != 404:
            raise
        fresh = {**obj, "deleted": True}
    log.info("same-second events for %s %s: settled from Stripe", obj["object"], obj["id"])
    settled = asked_at >= created + SETTLED_AFTER_SECONDS
    ObjectVersion.objects.filter(stripe_id=obj["id"]).update(settled=settled, deleted=fresh.get("deleted") is True)
    if fresh.get("deleted") is True:
        writer.delete(model, obj["id"])
    else:
        writer.add(fresh)
        writer.flush()
    return Outcome.applied


def apply_object(obj: dict, *, writer: Writer | None = None) -> bool:
    """Write through an object Stripe just returned to us, as if its event had arrived now."""
    if obj.get("object") not in OBJECT_MODELS:
        return False
    writer = writer or Writer()
    deleting = obj.get("deleted") is True
    now = int(time.time())
    with transaction.atomic(savepoint=False):
        if not claim(
            stripe_id=obj["id"], object_type=obj["object"], created=now, rank=1, event_id="", deleted=deleting
        ):
            return settle_tie(obj, created=now, rank=1, deleting=deleting, writer=writer) == Outcome.applied
        if deleting:
            writer.delete(OBJECT_MODELS[obj["object"]], obj["id"])
        else:
            writer.add(obj)
            writer.flush()
    return True


def apply_page(objects: list[dict], *, as_of: int | None = None, writer: Writer | None = None) -> int:
    """Write a page of objects listed from Stripe (backfill, repair) in a few statements.

    Each object counts as of `as_of` (default now): an event newer than that still wins later,
    and an object whose newer event was already applied is left alone. Returns how many were written.
    """
    writer = writer or Writer()
    as_of = as_of or int(time.time())
    objects = [o for o in objects if o.get("object") in OBJECT_MODELS and o.get("id")]
    with transaction.atomic(savepoint=False):
        writer.statements += 1
        won = claim_many([(o["id"], o["object"], as_of, 1, "", False) for o in objects])
        for obj in objects:
            if obj["id"] in won:
                writer.add(obj)
        writer.flush()
    return len(won)
