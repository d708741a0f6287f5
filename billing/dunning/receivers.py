"""Dunning's reactions to Stripe events (each safe twice, and in any order: decisions read the mirror)."""

from __future__ import annotations

from django.db import transaction

from billing.dunning import services
from billing.stripe import queue
from billing.stripe.models import StripeEvent
from billing.stripe.receivers import stripe_receiver


@stripe_receiver("invoice.payment_failed")
def invoice_payment_failed(event: StripeEvent, invoice: dict) -> None:
    services.case_open(invoice_id=invoice["id"], snapshot=invoice, failed_at=event.created, source=event.pk)


@stripe_receiver(
    "invoice.paid", "invoice.payment_succeeded", "invoice.voided", "invoice.marked_uncollectible", "invoice.deleted"
)
def invoice_settled(event: StripeEvent, invoice: dict) -> None:
    services.case_invoice_changed(invoice_id=invoice["id"], source=event.pk)


@stripe_receiver("payment_intent.succeeded", "payment_intent.payment_failed")
def payment_intent_settled(event: StripeEvent, intent: dict) -> None:
    services.attempt_settled(payment_intent=intent, source=event.pk)


@stripe_receiver("payment_method.attached", "customer.updated")
def payment_method_changed(event: StripeEvent, obj: dict) -> None:
    if obj.get("object") == "customer":
        previous = (event.payload.get("data") or {}).get("previous_attributes") or {}
        if "default_payment_method" not in (previous.get("invoice_settings") or {}):
            return
        customer_id = obj.get("id")
    else:
        customer_id = obj.get("customer")
    if customer_id:
        services.method_updated(customer_id=customer_id)


@stripe_receiver("test_helpers.test_clock.ready", "test_helpers.test_clock.created")
def test_clock_moved(event: StripeEvent, clock: dict) -> None:
    """A test clock is its customers' time: when it moves, steps may have come due."""
    if services.clock_observe(clock):
        transaction.on_commit(lambda: queue.send("billing.dunning.tasks.sweep"))
