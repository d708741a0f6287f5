"""Rebuild the revenue ledgers from the mirror: for a new installation over an account with years
of history, after a backfill, or to check the ledger kept by events.

A subscription's history is read from its invoices: each renewal's lines say which prices and
seats it had from that period's start; proration lines say what changed, and when, in between; the
trial and `ended_at` bound it; the subscription as mirrored now is its last state. Discounts the
mirror still holds apply from their start (one that has ended is no longer in the mirror, so
rebuilt history does not show it). Every subscription's states are replayed in time order through
the same code the events use, so customers' movements are classified the same way.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator

from django.db import transaction
from djstripe.models import Charge, Invoice, Price, Refund, Subscription

from billing.reports import ledger, receivers
from billing.reports.models import MonthlyTotal, MrrMovement, PaymentFact, SubscriptionMrr
from billing.stripe.models import ObjectVersion


def _when(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC)


def _line_price(line: dict) -> str | None:
    pricing = line.get("pricing") or {}
    price = (pricing.get("price_details") or {}).get("price") or line.get("price")
    return price.get("id") if isinstance(price, dict) else price


def _is_proration(line: dict) -> bool:
    parent = line.get("parent") or {}
    for key in ("subscription_item_details", "invoice_item_details"):
        if (parent.get(key) or {}).get("proration"):
            return True
    return bool(line.get("proration"))


def subscription_states(subscription: dict, invoices: list[dict], prices: dict[str, dict]) -> list[tuple[int, dict]]:
    """(time, subscription-shaped state) from the first bill to now, oldest first."""
    trial_end = subscription.get("trial_end") or 0
    regular: dict[int, dict[str, int]] = defaultdict(dict)
    changes: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for invoice in invoices:
        if invoice.get("status") in ("draft", "void"):
            continue
        for line in (invoice.get("lines") or {}).get("data", []):
            price_id, quantity = _line_price(line), line.get("quantity") or 1
            start = (line.get("period") or {}).get("start")
            if not price_id or price_id not in prices or start is None:
                continue
            if _is_proration(line):
                changes[start].append((price_id, quantity, 1 if (line.get("amount") or 0) > 0 else -1))
            else:
                regular[start][price_id] = regular[start].get(price_id, 0) + quantity
    states: list[tuple[int, dict]] = []
    items: dict[str, int] = {}
    for moment in sorted(set(regular) | set(changes)):
        if moment in regular:
            items = dict(regular[moment])
        for price_id, quantity, sign in changes.get(moment, []):
            if sign > 0:
                items[price_id] = quantity
            elif items.get(price_id) == quantity:
                items.pop(price_id)
        status = "trialing" if moment < trial_end else "active"
        states.append((moment, _state(subscription, items, prices, status)))
    if subscription.get("ended_at"):
        states.append((subscription["ended_at"], {**subscription, "status": "canceled"}))
    return states


def _state(subscription: dict, items: dict[str, int], prices: dict[str, dict], status: str) -> dict:
    return {
        **subscription,
        "status": status,
        "items": {"data": [{"price": prices[p], "quantity": q} for p, q in items.items()], "has_more": False},
    }


def _states_by_customer(progress: Callable[[int], None] | None) -> Iterator[list[tuple[int, str, dict, str]]]:
    """Per customer, (time, subscription id, state, source) of all its subscriptions: a customer's
    movements depend only on its own subscriptions, so memory holds one customer at a time."""
    prices = dict(Price.objects.filter(livemode__isnull=False).values_list("id", "stripe_data"))
    versions = dict(ObjectVersion.objects.filter(object_type="subscription").values_list("stripe_id", "event_created"))
    subscriptions = (
        Subscription.objects.filter(livemode__isnull=False)
        .order_by("customer_id", "created")
        .values_list("customer_id", "stripe_data")
    )
    current_customer, batch = None, []
    for customer_id, subscription in subscriptions.iterator(chunk_size=500):
        if customer_id != current_customer and batch:
            yield batch
            batch = []
        current_customer = customer_id
        invoices = list(
            Invoice.objects.filter(subscription_id=subscription["id"])
            .order_by("created")
            .values_list("stripe_data", flat=True)
        )
        for moment, state in subscription_states(subscription, invoices, prices):
            batch.append((moment, subscription["id"], state, "rebuild"))
        last_change = versions.get(subscription["id"]) or subscription.get("created") or 0
        batch.append(
            (max(last_change, subscription.get("ended_at") or 0), subscription["id"], subscription, "rebuild:current")
        )
        if progress:
            progress(1)
    if batch:
        yield batch


@transaction.atomic
def rebuild_mrr(progress: Callable[[int], None] | None = None) -> int:
    """Replace the MRR ledger with one rebuilt from the mirror. Returns the number of movements."""
    SubscriptionMrr.objects.all().delete()
    MrrMovement.objects.all().delete()
    MonthlyTotal.objects.filter(ledger="mrr").delete()
    for batch in _states_by_customer(progress):
        for moment, _, state, source in sorted(batch, key=lambda row: (row[0], row[1])):
            ledger.record_subscription(state, effective_at=_when(moment), source=source)
    return MrrMovement.objects.count()


@transaction.atomic
def rebuild_payments(progress: Callable[[int], None] | None = None) -> int:
    """Replace the payment facts with ones rebuilt from mirrored charges, refunds and invoices."""
    PaymentFact.objects.all().delete()
    MonthlyTotal.objects.filter(ledger="payments").delete()
    for model, record in ((Charge, receivers.record_charge), (Refund, receivers.record_refund)):
        for data in (
            model.objects.filter(livemode__isnull=False).values_list("stripe_data", flat=True).iterator(chunk_size=2000)
        ):
            record(data)
            if progress:
                progress(1)
    for data in Invoice.mirror.paid().values_list("stripe_data", flat=True).iterator(chunk_size=2000):
        receivers.record_out_of_band(data)
    return PaymentFact.objects.count()
