"""Apply Stripe objects to the dj-stripe mirror straight from their payloads.

No call to Stripe, a handful of statements per object, safe under concurrent workers:

- `claim()` records the newest (event time, rank) applied per object in one upsert whose row
  lock serialises writers of that object; an older event finds a newer claim and is skipped.
- Objects are written with one `INSERT ... ON CONFLICT (id) DO UPDATE` each. A parent the
  payload only names by id becomes a *stub* row (`livemode` NULL) that the parent's own event,
  or an embedded copy, later fills in; embedded copies never overwrite a real row.
- Owned children (subscription items, invoice lines) follow their parent's version.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection, models, transaction
from djstripe import models as dj

from billing.stripe.models import ObjectVersion

OBJECT_MODELS: dict[str, type[models.Model]] = {
    "customer": dj.Customer,
    "payment_method": dj.PaymentMethod,
    "product": dj.Product,
    "price": dj.Price,
    "subscription": dj.Subscription,
    "subscription_item": dj.SubscriptionItem,
    "invoice": dj.Invoice,
    "line_item": dj.LineItem,
    "invoiceitem": dj.InvoiceItem,
    "payment_intent": dj.PaymentIntent,
    "charge": dj.Charge,
    "refund": dj.Refund,
    "dispute": dj.Dispute,
    "review": dj.Review,
    "radar.early_fraud_warning": dj.EarlyFraudWarning,
    "tax_id": dj.TaxId,
    "tax_rate": dj.TaxRate,
    "setup_intent": dj.SetupIntent,
    "checkout.session": dj.Session,
    "mandate": dj.Mandate,
    "coupon": dj.Coupon,
}
OBJECT_TYPE_OF_MODEL = {model: name for name, model in OBJECT_MODELS.items()}

# Lists a parent owns: written with the parent, at the parent's version.
OWNED_CHILDREN = {"subscription": ("items", "subscription"), "invoice": ("lines", "invoice")}

# Foreign keys the mirror does not follow (objects the portal never shows): always NULL.
UNFOLLOWED = {
    "djstripe_owner_account",
    "subscriber",
    "on_behalf_of",
    "balance_transaction",
    "failure_balance_transaction",
    "source",
    "charge",
    "payment_intent",
}
UNFOLLOWED_BY_MODEL = {dj.Charge: {"invoice"}, dj.Dispute: {"charge", "payment_intent"}}
# Invoice.charge/payment_intent are one-to-one and dahlia no longer has them on the invoice.


def _dig(*path: str) -> Callable[[dict], Any]:
    def get(data: dict) -> Any:
        value: Any = data
        for key in path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return get


# Dahlia moved these links under `parent`; dj-stripe still looks at the old top-level keys.
DAHLIA_PATHS: dict[tuple[type[models.Model], str], Callable[[dict], Any]] = {
    (dj.Invoice, "subscription"): _dig("parent", "subscription_details", "subscription"),
    (dj.LineItem, "subscription"): lambda d: (
        _dig("parent", "subscription_item_details", "subscription")(d) or d.get("subscription")
    ),
    (dj.LineItem, "subscription_item"): _dig("parent", "subscription_item_details", "subscription_item"),
    (dj.LineItem, "invoice_item"): _dig("parent", "invoice_item_details", "invoice_item"),
    (dj.InvoiceItem, "subscription"): lambda d: (
        _dig("parent", "subscription_details", "subscription")(d) or d.get("subscription")
    ),
}


class KnownRows:
    """Rows this process has seen committed (bounded, per process): a parent known to exist is not
    written again. A row deleted elsewhere makes a child's commit fail its foreign key; the caller
    then forgets everything and retries, so the cache can only cost a retry, never a wrong row."""

    def __init__(self, size: int = 200_000):
        self.size = size
        self._rows: dict[tuple[str, str], bool] = {}  # (table, id) -> is a real row (not a stub)

    def get(self, key: tuple[str, str]) -> bool | None:
        return self._rows.get(key)

    def remember(self, entries: dict[tuple[str, str], bool]) -> None:
        if len(self._rows) + len(entries) > self.size:
            self._rows.clear()
        for key, real in entries.items():
            self._rows[key] = self._rows.get(key, False) or real

    def forget(self, key: tuple[str, str] | None = None) -> None:
        if key is None:
            self._rows.clear()
        else:
            self._rows.pop(key, None)


known_rows = KnownRows()


class MissingParent(Exception):
    """A required parent is neither in the mirror nor describable from the payload: retry later."""


@dataclass
class Column:
    field: models.Field
    attname: str
    target: type[models.Model] | None = None  # set for followed foreign keys
    read: Callable[[dict], Any] | None = None


@dataclass
class TablePlan:
    model: type[models.Model]
    table: str
    columns: list[Column] = field(default_factory=list)

    @property
    def conflict_columns(self) -> list[str]:
        """The unique key an upsert lands on: `id`, or dj-stripe's (id, livemode) for coupons."""
        if self.model._meta.get_field("id").unique:
            return ["id"]
        for together in self.model._meta.unique_together:
            if "id" in together:
                return [self.model._meta.get_field(name).column for name in together]
        raise ValueError(f"{self.model.__name__} has no unique key on id")

    @property
    def required_fks(self) -> list[Column]:
        return [c for c in self.columns if c.target is not None and not c.field.null]


def _empty_value(f: models.Field) -> Any:
    if f.has_default():
        return f.get_default()
    if isinstance(f, models.BooleanField):
        return False
    if isinstance(f, models.JSONField):
        return {}
    if isinstance(f, models.DecimalField | models.IntegerField):
        return 0
    return ""


@cache
def plan_for(model: type[models.Model]) -> TablePlan:
    plan = TablePlan(model=model, table=model._meta.db_table)
    unfollowed = UNFOLLOWED | UNFOLLOWED_BY_MODEL.get(model, set())
    for f in model._meta.concrete_fields:
        if f.name == "djstripe_id":
            continue
        column = Column(field=f, attname=f.attname)
        if f.is_relation:
            if (
                f.name in unfollowed
                or f.related_model not in OBJECT_TYPE_OF_MODEL
                or f.name == "djstripe_owner_account"
            ):
                column.read = lambda d: None
            else:
                column.target = f.related_model
                column.read = DAHLIA_PATHS.get((model, f.name)) or _dig(f.name)
        elif (model, f.name) in DAHLIA_PATHS:
            column.read = DAHLIA_PATHS[(model, f.name)]
        plan.columns.append(column)
    return plan


def _ref_id(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _by_internal_id(column: Column) -> bool:
    """A plain ForeignKey (not dj-stripe's StripeForeignKey) points at the parent's djstripe_id."""
    return column.target is not None and column.field.target_field.attname != "id"


def _placeholder(column: Column) -> str:
    if _by_internal_id(column):
        qn = connection.ops.quote_name
        target = column.field.related_model._meta
        return f"(SELECT {qn(column.field.target_field.column)} FROM {qn(target.db_table)} WHERE {qn('id')} = %s)"
    return "%s"


class Writer:
    """Collects rows, then writes each table with one multi-row statement (`flush`).

    Rows go into buckets per (table, mode) in the order the buckets are first needed; a parent's
    bucket is always opened before its child's, so a child that finds its parent by subquery
    (plain foreign keys) is written after it. The same writer serves one event or a backfill page.
    """

    def __init__(self) -> None:
        self.statements = 0
        self.now = dt.datetime.now(dt.UTC)
        self._buckets: dict[tuple[type[models.Model], str], dict[str, dict[str, Any]]] = {}
        self._queued: dict[tuple[str, str], bool] = {}  # (table, id) -> real row queued in this writer
        self._replaced_items: dict[str, list[str]] = {}  # subscription id -> its current item ids

    # --- public ---------------------------------------------------------------------------
    def add(self, data: dict, *, overwrite: bool = True, fresh: bool = False) -> None:
        """Queue an object (and what it embeds or names) for the next flush.

        `fresh`: the object is new at Stripe (a `.created` event), so it has no older children to remove.
        """
        model = OBJECT_MODELS[data["object"]]
        plan = plan_for(model)
        row = self._row(plan, data)
        self._queue(plan.model, "overwrite" if overwrite else "fill", data["id"], row)
        children = OWNED_CHILDREN.get(data["object"])
        if children:
            key, parent_key = children
            listing = data.get(key) or {}
            items = [dict(item, **{parent_key: data["id"]}) for item in listing.get("data", [])]
            for item in items:
                self.add(item, overwrite=overwrite)
            if overwrite and not fresh and data["object"] == "subscription" and not listing.get("has_more"):
                self._replaced_items[data["id"]] = [item["id"] for item in items]

    def delete(self, model: type[models.Model], stripe_id: str) -> None:
        self.statements += 1
        model.objects.filter(id=stripe_id).delete()
        known_rows.forget()  # the delete cascades to rows this process may remember

    def flush(self) -> None:
        for (model, mode), rows in self._buckets.items():
            self._write(plan_for(model), list(rows.values()), mode=mode)
        self._buckets.clear()
        if self._replaced_items:
            self._remove_replaced_items()
        queued = dict(self._queued)
        transaction.on_commit(lambda: known_rows.remember(queued))

    def _remove_replaced_items(self) -> None:
        """Items a subscription no longer has. Their past invoice lines stay, unlinked (dj-stripe's
        own cascade would delete those lines)."""
        keep = [item_id for ids in self._replaced_items.values() for item_id in ids]
        stale_ids = list(
            dj.SubscriptionItem.objects.filter(subscription_id__in=list(self._replaced_items))
            .exclude(id__in=keep)
            .values_list("id", flat=True)
        )
        self.statements += 1
        self._replaced_items.clear()
        if not stale_ids:
            return
        dj.LineItem.objects.filter(subscription_item_id__in=stale_ids).update(subscription_item=None)
        through = dj.SubscriptionItem._meta.get_field("tax_rates").remote_field.through
        through.objects.filter(subscriptionitem__id__in=stale_ids).delete()
        dj.SubscriptionItem.objects.filter(id__in=stale_ids)._raw_delete(connection.alias)
        self.statements += 3

    # --- rows -----------------------------------------------------------------------------
    def _queue(self, model: type[models.Model], mode: str, stripe_id: str, row: dict[str, Any]) -> None:
        bucket = self._buckets.setdefault((model, mode), {})
        if mode == "overwrite" or stripe_id not in bucket:
            bucket[stripe_id] = row  # the last real state wins; a fill or stub keeps the first
        key = (model._meta.db_table, stripe_id)
        self._queued[key] = self._queued.get(key, False) or mode != "stub"

    def _row(self, plan: TablePlan, data: dict) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column in plan.columns:
            f = column.field
            name = f.name
            if name == "stripe_data":
                value = data
            elif name in ("djstripe_created", "djstripe_updated"):
                value = self.now
            elif name == "metadata":
                value = data.get("metadata") or {}
            elif column.target is not None:
                raw = column.read(data) if column.read else None
                value = _ref_id(raw)
                if value:
                    value = self._ensure_parent(column, value, raw, data)
            elif column.read is not None:
                value = column.read(data)
            elif hasattr(f, "stripe_to_db"):
                value = f.stripe_to_db(data)
            else:
                value = data.get(name)
            if value is None and not f.null:
                value = _empty_value(f)
            row[column.attname] = value
        return row

    def _ensure_parent(self, column: Column, parent_id: str, raw: Any, child: dict) -> str | None:
        target = column.target
        assert target is not None
        key = (target._meta.db_table, parent_id)
        embedded = isinstance(raw, dict) and raw.get("object") == OBJECT_TYPE_OF_MODEL[target]
        exists = self._queued.get(key)
        if exists is None:
            exists = known_rows.get(key)
        if exists or (exists is False and not embedded):
            return parent_id  # a real row, or a stub and nothing better to fill it with
        if embedded:
            self.add(raw, overwrite=False)  # an embedded copy: fills a stub, never a real row
            return parent_id
        stub = {"id": parent_id, "object": OBJECT_TYPE_OF_MODEL[target]}
        target_plan = plan_for(target)
        for fk in target_plan.required_fks:
            hint = _ref_id(child.get(fk.field.name))
            if hint is None:
                if target.objects.filter(id=parent_id).exists():
                    self.statements += 1
                    return parent_id  # there already (this process had not seen it)
                if column.field.null:
                    return None  # linked when the next event for this object arrives
                raise MissingParent(f"{stub['object']} {parent_id} is not mirrored yet")
            stub[fk.field.name] = hint
        row = self._row(target_plan, stub)
        row["livemode"] = None
        row["stripe_data"] = {"id": parent_id, "object": stub["object"], "stub": True}
        self._queue(target, "stub", parent_id, row)
        return parent_id

    def _write(self, plan: TablePlan, rows: list[dict[str, Any]], *, mode: str) -> None:
        qn = connection.ops.quote_name
        columns = [c.attname for c in plan.columns]
        placeholders = "(" + ", ".join(_placeholder(c) for c in plan.columns) + ")"
        params: list[Any] = []
        for row in rows:
            for column in plan.columns:
                value = row[column.attname]
                if _by_internal_id(column):
                    params.append(value)  # the Stripe id; the subquery finds the row's internal id
                else:
                    params.append(column.field.get_db_prep_save(value, connection))
        updates = ", ".join(f"{qn(name)} = EXCLUDED.{qn(name)}" for name in columns if name != "djstripe_created")
        if mode == "overwrite":
            conflict = f"DO UPDATE SET {updates}"
        elif mode == "fill":
            # Fill a stub (livemode NULL) with real data; leave a real row alone.
            conflict = f"DO UPDATE SET {updates} WHERE {qn(plan.table)}.{qn('livemode')} IS NULL"
        else:
            conflict = "DO NOTHING"
        sql = (
            f"INSERT INTO {qn(plan.table)} ({', '.join(qn(c) for c in columns)}) "
            f"VALUES {', '.join([placeholders] * len(rows))} "
            f"ON CONFLICT ({', '.join(qn(c) for c in plan.conflict_columns)}) {conflict}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        self.statements += 1


# --- event ordering ---------------------------------------------------------------------------
_TERMINAL_SUFFIXES = (
    ".paid",
    ".payment_succeeded",
    ".voided",
    ".marked_uncollectible",
    ".succeeded",
    ".canceled",
    ".closed",
)


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
    """`claim` for many objects in one statement; returns the ids this writer may write."""
    if not claims:
        return set()
    unique = {c[0]: c for c in claims}  # one row per object per statement
    table = connection.ops.quote_name(ObjectVersion._meta.db_table)
    sql = (
        f"INSERT INTO {table} (stripe_id, object_type, event_created, rank, event_id, deleted) VALUES "
        + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(unique))
        + " ON CONFLICT (stripe_id) DO UPDATE SET "
        "event_created = EXCLUDED.event_created, rank = EXCLUDED.rank, event_id = EXCLUDED.event_id, "
        "deleted = EXCLUDED.deleted "
        f"WHERE NOT {table}.deleted AND ({table}.event_created < EXCLUDED.event_created OR "
        f"({table}.event_created = EXCLUDED.event_created AND {table}.rank <= EXCLUDED.rank)) "
        "RETURNING stripe_id"
    )
    params = [value for claim_row in sorted(unique.values()) for value in claim_row]
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
    with transaction.atomic(savepoint=False):
        writer.statements += 1
        if not claim(
            stripe_id=obj["id"],
            object_type=obj["object"],
            created=int(payload["created"]),
            rank=rank_of(payload["type"]),
            event_id=payload["id"],
            deleted=deleting,
        ):
            return Outcome.stale
        if deleting:
            writer.delete(model, obj["id"])
        else:
            writer.add(obj, fresh=payload["type"].endswith(".created"))
            writer.flush()
    return Outcome.applied


def apply_object(obj: dict, *, writer: Writer | None = None) -> bool:
    """Write through an object Stripe just returned to us, as if its event had arrived now."""
    if obj.get("object") not in OBJECT_MODELS:
        return False
    writer = writer or Writer()
    deleting = obj.get("deleted") is True
    with transaction.atomic(savepoint=False):
        if not claim(
            stripe_id=obj["id"],
            object_type=obj["object"],
            created=int(time.time()),
            rank=1,
            event_id="",
            deleted=deleting,
        ):
            return False
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
