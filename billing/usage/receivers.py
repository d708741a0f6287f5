"""Reactions to Stripe events: flush a metered subscription's usage before its invoice finalises."""

from __future__ import annotations

from django.db import transaction

from billing.stripe import queue
from billing.stripe.receivers import stripe_receiver
from billing.usage.models import UsagePeriod


@stripe_receiver("invoice.created")
def flush_before_finalising(event, invoice: dict) -> None:
    """Stripe waits about an hour before finalising a renewal: report the billed periods' usage now.
    The task reads the mirror's invoice; running it twice reports nothing twice."""
    customer_id = invoice.get("customer")
    items = {
        ((line.get("parent") or {}).get("subscription_item_details") or {}).get("subscription_item")
        for line in (invoice.get("lines") or {}).get("data") or []
    } - {None}
    if not customer_id or not items:
        return
    if UsagePeriod.objects.filter(
        customer_id=customer_id, subscription_item_id__in=items, closed_at__isnull=True
    ).exists():
        invoice_id = invoice["id"]
        transaction.on_commit(lambda: queue.send("billing.usage.tasks.flush_invoice", customer_id, invoice_id))
