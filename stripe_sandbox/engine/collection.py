"""Collecting invoices: charging the right payment method, marking paid, recording failures,
retries on the 3/5/7-day schedule, and the subscription status that follows from them."""

from __future__ import annotations

from ..core import SandboxError, copy_of, make, new_id
from ..routing import Api, public
from .payments import card_error, create_charge, resolve_payment_method

RETRY_DAYS = [3, 5, 7]  # Smart Retries, simplified: three more attempts after the first


def _payment_method_for(api: Api, invoice: dict, explicit: str | None) -> dict | None:
    now = api.state.now(invoice["customer"])
    if explicit:
        pm = resolve_payment_method(api.state, explicit, now)
        if pm.get("customer") not in (None, invoice["customer"]):
            raise SandboxError(400, "The payment method is attached to another customer.", param="payment_method")
        pm["customer"] = invoice["customer"]
        return pm
    sub_id = invoice_subscription(invoice)
    sub = api.state.objects.get(sub_id) if sub_id else None
    customer = api.state.objects.get(invoice["customer"])
    for candidate in (
        invoice.get("default_payment_method"),
        sub and sub.get("default_payment_method"),
        customer and customer["invoice_settings"].get("default_payment_method"),
    ):
        if candidate and candidate in api.state.objects:
            return api.state.objects[candidate]
    return None


def invoice_subscription(invoice: dict) -> str | None:
    return ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")


def attempt_invoice_payment(
    api: Api,
    invoice: dict,
    *,
    payment_method: str | None = None,
    raise_on_decline: bool = False,
    mark_past_due: bool = True,
) -> bool:
    """Try to collect an open invoice. Declines leave it open with attempt_count raised, as Stripe does.
    `mark_past_due=False`: a decline leaves the subscription's status alone (its change is undone)."""
    now = api.state.now(invoice["customer"])
    if invoice["amount_remaining"] <= 0:
        mark_paid(api, invoice, now, None)
        return True
    pm = _payment_method_for(api, invoice, payment_method)
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    if pm is None:
        payment_failed(api, invoice, now, mark_past_due=mark_past_due)
        if raise_on_decline:
            raise SandboxError(
                400,
                "This customer has no attached payment source or default payment method.",
                code="payment_method_missing",
            )
        return False
    intent, charge, behaviour = create_charge(
        api,
        amount=invoice["amount_remaining"],
        currency=invoice["currency"],
        customer=invoice["customer"],
        pm=pm,
        description=f"Payment for Invoice {invoice.get('number') or ''}".strip(),
        now=now,
        invoice=invoice["id"],
    )
    payment = make(
        "invoice_payment",
        id=new_id("invoice_payment"),
        amount_paid=charge["amount_captured"],
        amount_requested=invoice["amount_remaining"],
        currency=invoice["currency"],
        invoice=invoice["id"],
        is_default=True,
        payment={"type": "payment_intent", "payment_intent": intent["id"], "charge": None, "payment_record": None},
        status="paid" if charge["paid"] else "open",
        created=now,
        status_transitions={"paid_at": now if charge["paid"] else None, "canceled_at": None},
    )
    invoice["payments"]["data"].append(payment)
    if charge["paid"]:
        mark_paid(api, invoice, now, pm)
        return True
    payment_failed(api, invoice, now, mark_past_due=mark_past_due)
    if raise_on_decline:
        raise card_error(behaviour, charge=charge["id"], payment_intent=public(copy_of(intent)))
    return False


def mark_paid(api: Api, invoice: dict, now: int, pm: dict | None) -> None:
    previous = {
        "status": invoice["status"],
        "amount_paid": invoice["amount_paid"],
        "amount_remaining": invoice["amount_remaining"],
    }
    invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0, next_payment_attempt=None)
    invoice["status_transitions"]["paid_at"] = now
    api.emit("invoice.paid", invoice, previous)
    api.emit("invoice.payment_succeeded", invoice)
    sub = api.state.objects.get(invoice_subscription(invoice) or "")
    if sub and sub["status"] in ("incomplete", "past_due", "unpaid"):
        set_status(api, sub, "active")


def payment_failed(api: Api, invoice: dict, now: int, *, mark_past_due: bool = True) -> None:
    attempts = invoice["attempt_count"]
    automatic = invoice["collection_method"] == "charge_automatically"
    invoice["next_payment_attempt"] = (
        now + RETRY_DAYS[attempts - 1] * 86400 if automatic and attempts <= len(RETRY_DAYS) else None
    )
    api.emit("invoice.payment_failed", invoice, {"attempt_count": attempts - 1})
    sub = api.state.objects.get(invoice_subscription(invoice) or "")
    if sub and mark_past_due:
        if invoice["billing_reason"] == "subscription_create" and sub["status"] == "incomplete":
            return
        if sub["status"] in ("active", "trialing"):
            set_status(api, sub, "past_due")


def set_status(api: Api, sub: dict, status: str) -> None:
    previous = {"status": sub["status"]}
    sub["status"] = status
    api.emit("customer.subscription.updated", sub, previous)


def retry_invoices(api: Api, customer_id: str, to: int) -> None:
    for invoice in api.state.all("invoice"):
        if (
            invoice["customer"] == customer_id
            and invoice["status"] == "open"
            and invoice["next_payment_attempt"]
            and invoice["next_payment_attempt"] <= to
        ):
            clock = api.state.objects.get(api.state.objects[customer_id].get("test_clock") or "")
            if clock:
                clock["frozen_time"] = invoice["next_payment_attempt"]
            attempt_invoice_payment(api, invoice)
