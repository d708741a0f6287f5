"""Keep the revenue ledgers current from Stripe's events (within seconds of each event)."""

from __future__ import annotations

import datetime as dt

from djstripe.models import Customer, Subscription

from billing.reports import ledger
from billing.reports.models import PaymentKind
from billing.stripe.models import StripeEvent
from billing.stripe.receivers import stripe_receiver


def _when(ts) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC)


def _subscription_state(subscription_id: str) -> dict | None:
    """The mirror's state (not the event's snapshot: a late event must not move the ledger back)."""
    return (
        Subscription.objects.filter(id=subscription_id, livemode__isnull=False)
        .values_list("stripe_data", flat=True)
        .first()
    )


@stripe_receiver(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
)
def subscription_changed(event: StripeEvent, subscription: dict) -> None:
    state = _subscription_state(subscription["id"])
    if state is not None:
        ledger.record_subscription(state, effective_at=event.created, source=event.pk)


@stripe_receiver("customer.discount.created", "customer.discount.updated", "customer.discount.deleted")
def discount_changed(event: StripeEvent, discount: dict) -> None:
    if discount.get("subscription"):
        ids = [discount["subscription"]]
    else:  # a customer-wide discount: every subscription of the customer
        ids = list(Subscription.mirror.live().filter(customer_id=discount.get("customer")).values_list("id", flat=True))
    for subscription_id in ids:
        state = _subscription_state(subscription_id)
        if state is not None:
            ledger.record_subscription(state, effective_at=event.created, source=event.pk)


def customer_country(customer_id: str | None) -> str:
    if not customer_id:
        return ""
    data = Customer.objects.filter(id=customer_id).values_list("stripe_data", flat=True).first() or {}
    return ((data.get("address") or {}).get("country") or "").upper()


def record_charge(charge: dict) -> None:
    if charge.get("status") not in ("succeeded", "failed"):
        return  # pending bank debits are recorded when they settle or fail
    details = charge.get("payment_method_details") or {}
    ledger.record_payment(
        source_id=charge["id"],
        kind=PaymentKind.succeeded if charge["status"] == "succeeded" else PaymentKind.failed,
        amount=charge.get("amount") or 0,
        currency=charge.get("currency") or "",
        occurred_at=_when(charge.get("created") or 0),
        customer_id=charge.get("customer") or "",
        method_type=details.get("type") or "",
        country=customer_country(charge.get("customer")),
        failure_code=charge.get("failure_code") or "",
    )


@stripe_receiver("charge.succeeded", "charge.failed")
def charge_outcome(event: StripeEvent, charge: dict) -> None:
    record_charge(charge)


def record_refund(refund: dict) -> None:
    if refund.get("status") != "succeeded":
        return
    ledger.record_payment(
        source_id=refund["id"],
        kind=PaymentKind.refunded,
        amount=refund.get("amount") or 0,
        currency=refund.get("currency") or "",
        occurred_at=_when(refund.get("created") or 0),
    )


@stripe_receiver("refund.created", "refund.updated")
def refund_outcome(event: StripeEvent, refund: dict) -> None:
    record_refund(refund)


def record_out_of_band(invoice: dict) -> None:
    """An invoice marked paid with no payment through Stripe (a bank transfer finance saw arrive)."""
    if "payments" not in invoice:
        return  # Stripe lists payments only when asked: without the list, the charge's own event counts
    payments = (invoice.get("payments") or {}).get("data") or []
    if invoice.get("status") != "paid" or not invoice.get("amount_paid") or payments:
        return
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at") or invoice.get("created") or 0
    ledger.record_payment(
        source_id=invoice["id"],
        kind=PaymentKind.out_of_band,
        amount=invoice["amount_paid"],
        currency=invoice.get("currency") or "",
        occurred_at=_when(paid_at),
        customer_id=invoice.get("customer") or "",
        invoice_id=invoice["id"],
        country=customer_country(invoice.get("customer")),
    )


@stripe_receiver("invoice.paid")
def invoice_paid(event: StripeEvent, invoice: dict) -> None:
    record_out_of_band(invoice)
