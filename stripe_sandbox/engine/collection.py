"""Collecting invoices: charging the right payment method, marking paid, recording failures,
retries on the 3/5/7-day schedule (only while the invoice's `auto_advance` is on, as Stripe's
automatic collection), bank debits that settle days later, and the subscription status that
follows from them."""

from __future__ import annotations

from ..core import SandboxError, copy_of, make, new_id
from ..routing import Api, public
from .debits import SETTLE_INVOICE, create_payment, settle_bank_debit
from .payments import card_error, resolve_payment_method

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
    intent, charge, behaviour = create_payment(
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
    if behaviour == "processing":
        invoice["next_payment_attempt"] = None  # nothing is retried while a debit is on its way
        return False
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
    invoice["next_payment_attempt"] = next_retry(invoice, now)
    api.emit("invoice.payment_failed", invoice, {"attempt_count": invoice["attempt_count"] - 1})
    sub = api.state.objects.get(invoice_subscription(invoice) or "")
    if sub and mark_past_due:
        if invoice["billing_reason"] == "subscription_create" and sub["status"] == "incomplete":
            return
        if sub["status"] in ("active", "trialing"):
            set_status(api, sub, "past_due")


def next_retry(invoice: dict, now: int) -> int | None:
    """When Stripe retries a failed invoice: on the 3/5/7-day schedule, only while `auto_advance` is on
    (turning it off is how an integration that runs its own dunning stops Stripe's retries)."""
    attempts = invoice["attempt_count"]
    automatic = invoice["collection_method"] == "charge_automatically" and invoice.get("auto_advance", True)
    if not automatic or not 1 <= attempts <= len(RETRY_DAYS):
        return None
    return now + RETRY_DAYS[attempts - 1] * 86400


def settle_charge(api: Api, charge: dict) -> None:
    """A pending bank debit settles: the charge and its PaymentIntent succeed or fail, and the
    invoice it pays is paid, or fails as a declined card would (`invoice.payment_failed`, a retry
    while `auto_advance` is on, a `past_due` subscription)."""
    invoice = api.state.objects.get(charge.get(SETTLE_INVOICE) or "")
    paid = settle_bank_debit(api, charge)
    if invoice is None or invoice["object"] != "invoice":
        return
    now = api.state.now(invoice["customer"])
    payment = next(
        (p for p in invoice["payments"]["data"] if p["payment"].get("payment_intent") == charge["payment_intent"]),
        None,
    )
    if paid:
        if payment is not None:
            payment.update(status="paid", amount_paid=charge["amount"])
            payment["status_transitions"]["paid_at"] = now
        if invoice["status"] == "open":
            mark_paid(api, invoice, now, None)
        return
    if invoice["status"] == "open":
        payment_failed(api, invoice, now)


def set_status(api: Api, sub: dict, status: str) -> None:
    previous = {"status": sub["status"]}
    sub["status"] = status
    api.emit("customer.subscription.updated", sub, previous)
