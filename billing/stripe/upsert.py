"""Writing Stripe objects into dj-stripe's tables straight from their payloads: `Writer`.

- Objects are written with one `INSERT ... ON CONFLICT (id) DO UPDATE` per table and flush. A
  parent the payload only names by id becomes a *stub* row (`livemode` NULL) that the parent's own
  event, or an embedded copy, later fills in; embedded copies never overwrite a real row. A stub
  whose own required parent is unknown takes it from the child (or the child's owner), so every
  foreign key is filled whatever order objects arrive in.
- Tables are written parents first: a child that finds its parent by subquery (dj-stripe's plain
  foreign keys to `djstripe_id`, e.g. an item's price) always finds it.
- Owned children (subscription items, invoice lines) are written with their parent.

Which object wins when two events race is decided one level up, in `mirror`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from djstripe import models as dj

from billing.stripe.receivers import mirror_written

OBJECT_MODELS: dict[str, type[models.Model]] = {
    "customer": dj.Customer,
    "payment_method": dj.PaymentMethod,
    "product": dj.Product,
    "price": dj.Price,
    "subscription": dj.Subscription,
    "subscription_item": dj.SubscriptionItem,
    "subscription_schedule": dj.SubscriptionSchedule,
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
    "discount": dj.Discount,
}
OBJECT_TYPE_OF_MODEL = {model: name for name, model in OBJECT_MODELS.items()}

# Lists a parent owns: written with the parent, at the parent's version.
OWNED_CHILDREN = {"subscription": ("items", "subscription"), "invoice": ("lines", "invoice")}

# Foreign keys the mirror does not follow (objects the portal never mirrors): always NULL.
UNFOLLOWED = {
    "djstripe_owner_account",
    "subscriber",
    "on_behalf_of",
    "balance_transaction",
    "failure_balance_transaction",
    "source",
}
# Dahlia has no `charge` on an invoice (payments are listed under `payments`) and no `invoice` on
# a charge: dj-stripe's columns for them stay NULL; the invoice's payment intent is followed below.
UNFOLLOWED_BY_MODEL = {dj.Charge: {"invoice"}, dj.Invoice: {"charge"}}


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
def _invoice_payment_intent(invoice: dict) -> str | None:
    """The invoice's default payment (or its latest) names the payment intent that pays it."""
    payments = (invoice.get("payments") or {}).get("data") or []
    chosen = next((p for p in payments if p.get("is_default")), payments[-1] if payments else None)
    return _dig("payment", "payment_intent")(chosen) if chosen else None


DAHLIA_PATHS: dict[tuple[type[models.Model], str], Callable[[dict], Any]] = {
    (dj.Customer, "default_payment_method"): _dig("invoice_settings", "default_payment_method"),
    (dj.Invoice, "payment_intent"): _invoice_payment_intent,
    (dj.Invoice, "subscription"): _dig("parent", "subscription_details", "subscription"),
    (dj.LineItem, "subscription"): lambda d: (
        _dig("parent", "subscription_item_details", "subscription")(d) or d.get("subscription")
    ),
    (dj.LineItem, "subscription_item"): _dig("parent", "subscription_item_details", "subscription_item"),
    (dj.LineItem, "invoice_item"): _dig("parent", "invoice_item_details", "invoice_item"),
    (dj.InvoiceItem, "subscription"): lambda d: (
        _dig("parent", "subscription_details", "subscription")(d) or d.get("subscription")
    ),
    (dj.InvoiceItem, "price"): lambda d: _dig("pricing", "price_details", "price")(d) or d.get("price"),
}

# Where a child names its parent's own required parent, for a stub of that parent: an invoice
# item's price is known by id, its product is in `pricing.price_details`.
STUB_HINTS: dict[tuple[type[models.Model], type[models.Model]], Callable[[dict], Any]] = {
    (dj.InvoiceItem, dj.Product): _dig("pricing", "price_details", "product"),
    (dj.LineItem, dj.Product): _dig("pricing", "price_details", "product"),
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


def _hint(child: dict, wanted: type[models.Model] | None, owner: dict | None) -> str | None:
    """The id of a `wanted` object that `child` (or the object listing it) names: a stub's parent."""
    for data in (child, owner):
        if not data or data.get("object") not in OBJECT_MODELS:
            continue
        model = OBJECT_MODELS[data["object"]]
        for column in plan_for(model).columns:
            if column.target is wanted and column.read is not None:
                found = _ref_id(column.read(data))
                if found:
                    return found
        special = STUB_HINTS.get((model, wanted))
        if special and (found := _ref_id(special(data))):
            return found
    return None


@cache
def depth_of(model: type[models.Model]) -> int:
    """0 for tables no subquery needs first; 1 + the parent's depth for plain foreign keys."""
    parents = [c.target for c in plan_for(model).columns if _by_internal_id(c) and c.target is not model]
    return 1 + max((depth_of(p) for p in parents), default=-1)


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
    def add(self, data: dict, *, overwrite: bool = True, fresh: bool = False, owner: dict | None = None) -> None:
        """Queue an object (and what it embeds or names) for the next flush.

        `fresh`: the object is new at Stripe (a `.created` event), so it has no older children to remove.
        `owner`: the object this one is listed in (an item's subscription, a line's invoice), which
        can name parents the object itself does not.
        """
        model = OBJECT_MODELS[data["object"]]
        plan = plan_for(model)
        row = self._row(plan, data, owner)
        self._queue(plan.model, "overwrite" if overwrite else "fill", data["id"], row)
        children = OWNED_CHILDREN.get(data["object"])
        if children:
            key, parent_key = children
            listing = data.get(key) or {}
            items = [dict(item, **{parent_key: data["id"]}) for item in listing.get("data", [])]
            for item in items:
                self.add(item, overwrite=overwrite, owner=data)
            if overwrite and not fresh and data["object"] == "subscription" and not listing.get("has_more"):
                self._replaced_items[data["id"]] = [item["id"] for item in items]

    def delete(self, model: type[models.Model], stripe_id: str) -> None:
        self.statements += 1
        model.objects.filter(id=stripe_id).delete()
        known_rows.forget()  # the delete cascades to rows this process may remember

    def flush(self) -> None:
        # Parents first (a subquery must find its row); otherwise in the order the rows came.
        buckets = sorted(self._buckets.items(), key=lambda entry: depth_of(entry[0][0]))
        for (model, mode), rows in buckets:
            self._write(plan_for(model), list(rows.values()), mode=mode)
        written = {model for (model, _mode), rows in buckets if rows}
        self._buckets.clear()
        if self._replaced_items:
            written |= {dj.SubscriptionItem, dj.LineItem}
            self._remove_replaced_items()
        if written:
            mirror_written.send(sender=Writer, models=frozenset(written))
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

    def _row(self, plan: TablePlan, data: dict, owner: dict | None = None) -> dict[str, Any]:
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
            elif name == "livemode":
                # Some objects (discounts) carry no `livemode`: they are of the account's mode. NULL
                # is kept for stubs, which set it after this.
                value = data.get("livemode")
                if value is None:
                    value = settings.STRIPE_LIVE_MODE
            elif column.target is not None:
                raw = column.read(data) if column.read else None
                value = _ref_id(raw)
                if value:
                    value = self._ensure_parent(column, value, raw, data, owner)
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

    def _ensure_parent(self, column: Column, parent_id: str, raw: Any, child: dict, owner: dict | None) -> str | None:
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
            hint = _hint(child, fk.target, owner)
            if hint is None:
                if target.objects.filter(id=parent_id).exists():
                    self.statements += 1
                    return parent_id  # there already (this process had not seen it)
                if column.field.null:
                    return None  # linked when the next event for this object arrives
                raise MissingParent(f"{stub['object']} {parent_id} is not mirrored yet")
            stub[fk.field.name] = hint
        try:
            # The stub's own parents come from what named it, or from the object listing that.
            row = self._row(target_plan, stub, owner or child)
        except MissingParent:
            if column.field.null:
                return None
            raise
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
