"""Backfill and reconciliation: list objects from Stripe through the gateway, compare, repair."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.utils import timezone

from billing.stripe import mirror
from billing.stripe.errors import InvalidRequest
from billing.stripe.gateway import StripeGateway, gateway
from billing.stripe.models import BackfillCursor, DriftReport


@dataclass(frozen=True)
class Listing:
    object_type: str
    path: str
    params: tuple = ()
    per_customer: bool = False  # listed under /v1/customers/{id}/...


# Parents before children, so every page finds what it points at.
LISTINGS = [
    Listing("product", "/v1/products"),
    Listing("price", "/v1/prices"),
    Listing("coupon", "/v1/coupons"),
    Listing("tax_rate", "/v1/tax_rates"),
    Listing("customer", "/v1/customers"),
    Listing("payment_method", "/v1/customers/{customer}/payment_methods", per_customer=True),
    Listing("tax_id", "/v1/customers/{customer}/tax_ids", per_customer=True),
    Listing("subscription", "/v1/subscriptions", (("status", "all"),)),
    Listing("subscription_schedule", "/v1/subscription_schedules"),
    Listing("invoice", "/v1/invoices"),
    Listing("invoiceitem", "/v1/invoiceitems"),
    Listing("payment_intent", "/v1/payment_intents"),
    Listing("charge", "/v1/charges"),
    Listing("refund", "/v1/refunds"),
    Listing("dispute", "/v1/disputes"),
    Listing("review", "/v1/reviews"),
    Listing("radar.early_fraud_warning", "/v1/radar/early_fraud_warnings"),
    Listing("setup_intent", "/v1/setup_intents"),
    Listing("checkout.session", "/v1/checkout/sessions"),
]
LISTING_BY_TYPE = {listing.object_type: listing for listing in LISTINGS}


def _customer_ids() -> Iterator[str]:
    from djstripe.models import Customer

    yield from Customer.objects.filter(livemode__isnull=False).order_by("id").values_list("id", flat=True).iterator()


def _pages(client: StripeGateway, listing: Listing, *, starting_after: str = "", page_size: int = 100):
    """(page of objects, cursor) for one listing; per-customer listings page through customers."""
    if listing.per_customer:
        for customer_id in _customer_ids():
            if starting_after and customer_id <= starting_after:
                continue
            path = listing.path.format(customer=customer_id)
            try:
                objects = list(client.list_all(path, page_size=page_size))
            except InvalidRequest:
                objects = []  # the customer was deleted at Stripe meanwhile
            yield objects, customer_id
        return
    params = dict(listing.params)
    cursor = starting_after
    while True:
        page_params = {**params, "limit": page_size}
        if cursor:
            page_params["starting_after"] = cursor
        try:
            page = client.get(listing.path, **page_params)
        except InvalidRequest as error:
            if error.http_status == 404:
                return  # this Stripe (or sandbox) has no such list endpoint
            raise
        data = page.get("data") or []
        if data:
            cursor = data[-1]["id"]
        yield data, cursor
        if not page.get("has_more") or not data:
            return


def backfill(
    *,
    object_types: list[str] | None = None,
    restart: bool = False,
    page_size: int = 100,
    progress: Callable[[str, int], None] | None = None,
    client: StripeGateway | None = None,
) -> dict[str, int]:
    """Mirror every object of the given types from Stripe. Resumes where an interrupted run stopped."""
    client = client or gateway()
    listings = [LISTING_BY_TYPE[t] for t in object_types] if object_types else LISTINGS
    types = [item.object_type for item in listings]
    if restart:
        BackfillCursor.objects.filter(object_type__in=types).delete()
    BackfillCursor.objects.bulk_create([BackfillCursor(object_type=t) for t in types], ignore_conflicts=True)
    cursors = {c.object_type: c for c in BackfillCursor.objects.filter(object_type__in=types)}
    written: dict[str, int] = {}
    for listing in listings:
        cursor = cursors[listing.object_type]
        if cursor.done:
            written[listing.object_type] = 0
            continue
        count = 0
        for objects, next_cursor in _pages(client, listing, starting_after=cursor.starting_after, page_size=page_size):
            count += mirror.apply_page(objects)
            BackfillCursor.objects.filter(pk=cursor.pk).update(
                starting_after=next_cursor or "", written=cursor.written + count, updated_at=timezone.now()
            )
            if progress:
                progress(listing.object_type, len(objects))
        BackfillCursor.objects.filter(pk=cursor.pk).update(done=True, updated_at=timezone.now())
        written[listing.object_type] = count
    return written


# Keys that change without an event the mirror needs, or that Stripe fills per request: a
# difference in them is not drift. Per type, what Stripe moves on its own (a customer's invoice
# counter advances with every invoice; a subscription's latest invoice is set after its renewal).
VOLATILE_KEYS = {"next_payment_attempt", "updated", "pending_webhooks", "request"}
VOLATILE_BY_TYPE = {
    "customer": {"next_invoice_sequence", "invoice_prefix"},
    "subscription": {"latest_invoice", "next_pending_invoice_item_invoice"},
    "invoice": {"webhooks_delivered_at", "automatically_finalizes_at"},
    "payment_intent": {"latest_charge"},
}
# Differences people act on come first: money, state, who pays and how.
IMPORTANT_KEYS = {
    "status",
    "amount",
    "amount_due",
    "amount_paid",
    "amount_remaining",
    "total",
    "currency",
    "customer",
    "items",
    "quantity",
    "cancel_at_period_end",
    "canceled_at",
    "default_payment_method",
    "invoice_settings",
    "unit_amount",
    "active",
    "paid",
    "refunded",
    "deleted",
}


def _differing_fields(local: dict, remote: dict, object_type: str = "") -> list[str]:
    ignored = VOLATILE_KEYS | VOLATILE_BY_TYPE.get(object_type, set())
    keys = (set(local) | set(remote)) - ignored
    return sorted(k for k in keys if local.get(k) != remote.get(k))


def _weight(detail: dict) -> int:
    """Missing objects first, then differences in fields that matter, then the rest."""
    if detail["kind"] != "differ":
        return 0
    return 1 if IMPORTANT_KEYS & set(detail.get("fields", ())) else 2


def _detail(object_type: str, stripe_id: str, kind: str, fields: list[str] | None = None) -> dict:
    detail = {"type": object_type, "id": stripe_id, "kind": kind}
    if fields is not None:
        detail["fields"] = fields
        detail["important"] = bool(IMPORTANT_KEYS & set(fields))
    return detail


def reconcile(
    *,
    object_types: list[str] | None = None,
    sample: int | None = None,
    repair: bool = False,
    client: StripeGateway | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> DriftReport:
    """Compare the mirror with Stripe: full (list everything) or sampled (retrieve N local rows)."""
    client = client or gateway()
    types = object_types or [item.object_type for item in LISTINGS if not item.per_customer]
    report = DriftReport.objects.create(object_types=types, sampled=sample, repaired=repair)
    summary: dict[str, dict[str, int]] = {}
    details: list[dict] = []
    for object_type in types:
        model = mirror.OBJECT_MODELS[object_type]
        listing = LISTING_BY_TYPE[object_type]
        counts = {"checked": 0, "missing_here": 0, "missing_there": 0, "differ": 0}
        to_repair: list[dict] = []
        to_delete: list[str] = []
        if sample:
            local_ids = list(model.objects.filter(livemode__isnull=False).values_list("id", flat=True))
            chosen = random.sample(local_ids, min(sample, len(local_ids)))
            local = {row.id: row.stripe_data for row in model.objects.filter(id__in=chosen)}
            base = listing.path.split("{")[0]
            for stripe_id in chosen:
                counts["checked"] += 1
                try:
                    remote = client.get(f"{base.rstrip('/')}/{stripe_id}")
                except InvalidRequest:
                    counts["missing_there"] += 1
                    details.append(_detail(object_type, stripe_id, "missing_there"))
                    to_delete.append(stripe_id)
                    continue
                fields = _differing_fields(local[stripe_id], remote, object_type)
                if fields:
                    counts["differ"] += 1
                    details.append(_detail(object_type, stripe_id, "differ", fields))
                    to_repair.append(remote)
        else:
            local = dict(model.objects.filter(livemode__isnull=False).values_list("id", "stripe_data"))
            seen: set[str] = set()
            for objects, _ in _pages(client, listing):
                for remote in objects:
                    counts["checked"] += 1
                    seen.add(remote["id"])
                    if remote["id"] not in local:
                        counts["missing_here"] += 1
                        details.append(_detail(object_type, remote["id"], "missing_here"))
                        to_repair.append(remote)
                        continue
                    fields = _differing_fields(local[remote["id"]], remote, object_type)
                    if fields:
                        counts["differ"] += 1
                        details.append(_detail(object_type, remote["id"], "differ", fields))
                        to_repair.append(remote)
                if progress:
                    progress(object_type, len(objects))
            for stripe_id in set(local) - seen:
                counts["missing_there"] += 1
                details.append(_detail(object_type, stripe_id, "missing_there"))
                to_delete.append(stripe_id)
        if repair:
            for start in range(0, len(to_repair), 100):
                mirror.apply_page(to_repair[start : start + 100], as_of=int(time.time()))
            for stripe_id in to_delete:
                mirror.apply_object({"id": stripe_id, "object": object_type, "deleted": True})
        summary[object_type] = counts
    report.summary = summary
    details.sort(key=_weight)
    if repair:
        for detail in details:
            detail["repaired"] = True
    report.details = details[:1000]
    report.finished_at = timezone.now()
    report.save(update_fields=["summary", "details", "finished_at"])
    return report


def repair_one(*, object_type: str, stripe_id: str, client: StripeGateway | None = None) -> str:
    """Make one mirrored object what Stripe says it is now. Returns what was done."""
    client = client or gateway()
    listing = LISTING_BY_TYPE[object_type]
    path = mirror.RETRIEVE_PATHS.get(object_type) or f"{listing.path.split('{')[0].rstrip('/')}/{{id}}"
    try:
        remote = client.get(path.format(id=stripe_id))
    except InvalidRequest as error:
        if error.http_status != 404:
            raise
        mirror.apply_object({"id": stripe_id, "object": object_type, "deleted": True})
        return "deleted here (Stripe has no such object)"
    mirror.apply_page([remote], as_of=int(time.time()))
    return "rewritten from Stripe"
