"""Bank debits (ACH `us_bank_account`, SEPA `sepa_debit`): `processing` first, settled days later.

The charge is `pending` and its PaymentIntent `processing` whatever the account will say; when it
settles (as a test clock advances past its settlement time, or in real time) it succeeds, or fails
with the bank's code, and the invoice it pays follows (engine.collection.settle_charge).
"""

from __future__ import annotations

from ..core import State, make, new_id
from ..routing import Api
from .payments import DECLINES, create_charge, payment_method_behaviour
from .periods import add_business_days

# Bank debits settle over days (Stripe: ACH up to 4 business days, SEPA up to 14, Bacs 3, BECS up to
# 3, pre-authorised debit up to 5): the charge is `pending` and its PaymentIntent `processing` until
# then; a failing account or IBAN fails then.
SETTLEMENT_BUSINESS_DAYS = {"us_bank_account": 4, "sepa_debit": 5, "bacs_debit": 3, "au_becs_debit": 3, "acss_debit": 5}
BANK_DEBITS = tuple(SETTLEMENT_BUSINESS_DAYS)
SETTLE_AT = "_settle_at"  # private keys of a pending charge: when it settles and how
SETTLE_OUTCOME = "_settle_outcome"
SETTLE_INVOICE = "_invoice"


def create_payment(
    api: Api,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    pm: dict,
    description: str | None,
    now: int,
    invoice: str | None = None,
) -> tuple[dict, dict, str]:
    """A PaymentIntent and its Charge for any method: cards at once (payments.create_charge), bank
    debits pending. Returns (intent, charge, behaviour); a pending debit's behaviour is "processing"."""
    if pm["type"] not in BANK_DEBITS:
        return create_charge(
            api,
            amount=amount,
            currency=currency,
            customer=customer,
            pm=pm,
            description=description,
            now=now,
            invoice=invoice,
        )
    return _create_bank_debit(
        api,
        amount=amount,
        currency=currency,
        customer=customer,
        pm=pm,
        description=description,
        now=now,
        invoice=invoice,
        outcome=payment_method_behaviour(pm),
    )


def _method_details(pm: dict) -> dict:
    keep = (
        "last4",
        "country",
        "bank_name",
        "routing_number",
        "bank_code",
        "fingerprint",
        "sort_code",
        "bsb_number",
        "institution_number",
        "transit_number",
    )
    return {"type": pm["type"], pm["type"]: {k: v for k, v in (pm.get(pm["type"]) or {}).items() if k in keep}}


def _create_bank_debit(
    api: Api,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    pm: dict,
    description: str | None,
    now: int,
    invoice: str | None,
    outcome: str,
) -> tuple[dict, dict, str]:
    pi_id, ch_id = new_id("payment_intent"), new_id("charge")
    charge = make(
        "charge",
        id=ch_id,
        amount=amount,
        amount_captured=0,
        amount_refunded=0,
        captured=False,
        created=now,
        currency=currency,
        customer=customer,
        description=description,
        paid=False,
        status="pending",
        payment_intent=pi_id,
        payment_method=pm["id"],
        payment_method_details=_method_details(pm),
        billing_details=pm.get("billing_details"),
        refunded=False,
        disputed=False,
        failure_code=None,
        failure_message=None,
        receipt_url=f"{api.base_url}/_sandbox/receipts/{ch_id}",
        outcome={
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "not_assessed",
            "risk_score": None,
            "rule": None,
            "type": "authorized",
            "seller_message": "Payment pending: the bank debit settles in a few days.",
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
        },
        refunds={"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{ch_id}/refunds"},
        metadata={},
        review=None,
        balance_transaction=None,
    )
    charge[SETTLE_AT] = add_business_days(now, SETTLEMENT_BUSINESS_DAYS[pm["type"]])
    charge[SETTLE_OUTCOME] = outcome
    charge[SETTLE_INVOICE] = invoice
    intent = make(
        "payment_intent",
        id=pi_id,
        amount=amount,
        amount_received=0,
        amount_capturable=0,
        capture_method="automatic",
        confirmation_method="automatic",
        created=now,
        currency=currency,
        customer=customer,
        description=description,
        latest_charge=ch_id,
        payment_method=pm["id"],
        payment_method_types=[pm["type"]],
        status="processing",
        metadata={},
        last_payment_error=None,
    )
    api.state.add(intent)
    api.state.add(charge)
    api.emit("payment_intent.created", intent)
    api.emit("payment_intent.processing", intent)
    api.emit("charge.pending", charge)
    return intent, charge, "processing"


def settle_bank_debit(api: Api, charge: dict) -> bool:
    """Settle a pending bank debit as its account says: succeeded, or failed with the bank's code.
    Emits the charge's and the PaymentIntent's events; returns whether the money arrived. The
    invoice it pays (if any) is the caller's (engine.collection.settle_charge)."""
    intent = api.state.objects[charge["payment_intent"]]
    outcome = charge.pop(SETTLE_OUTCOME, "ok")
    charge.pop(SETTLE_AT, None)
    previous = {"status": charge["status"]}
    if outcome == "ok":
        charge.update(status="succeeded", paid=True, captured=True, amount_captured=charge["amount"])
        charge["outcome"] = {**charge["outcome"], "seller_message": "Payment complete."}
        intent.update(status="succeeded", amount_received=charge["amount"])
        api.emit("charge.succeeded", charge, previous)
        api.emit("payment_intent.succeeded", intent)
        return True
    code, decline_code, message = DECLINES.get(outcome, DECLINES["charge_fails"])
    failure = {"type": "card_error", "code": decline_code, "decline_code": decline_code, "message": message}
    charge.update(status="failed", failure_code=decline_code, failure_message=message)
    charge["outcome"] = {
        **charge["outcome"],
        "network_status": "declined_by_network",
        "reason": decline_code,
        "type": "issuer_declined",
        "seller_message": "The bank returned the debit.",
    }
    intent.update(
        status="requires_payment_method",
        payment_method=None,
        last_payment_error={**failure, "charge": charge["id"], "payment_method": {"id": charge["payment_method"]}},
    )
    api.emit("charge.failed", charge, previous)
    api.emit("payment_intent.payment_failed", intent)
    return False


def pending_settlements(state: State, customers: set[str] | None, until: int | None) -> list[dict]:
    """Pending bank debits (of `customers`, or everyone's) due to settle by `until` (None: any time)."""
    return [
        charge
        for charge in state.all("charge")
        if charge["status"] == "pending"
        and SETTLE_AT in charge
        and (customers is None or charge.get("customer") in customers)
        and (until is None or charge[SETTLE_AT] <= until)
    ]
