"""Payment methods and payments: Stripe's test cards, tokens, bank accounts and IBANs and how each
behaves; creating and attaching payment methods, mandates; charging (a PaymentIntent and its Charge),
disputes and Radar reviews."""

from __future__ import annotations

import hashlib
import time

from ..core import SandboxError, State, copy_of, make, new_id
from ..routing import Api, public
from . import local_methods
from .risk import close_reviews_of, open_dispute, open_review, settle_warnings_of

# Stripe's test cards (https://docs.stripe.com/testing): number -> (brand, behaviour)
CARDS = {
    "4242424242424242": ("visa", "ok"),
    "4000056655665556": ("visa", "ok"),
    "5555555555554444": ("mastercard", "ok"),
    "378282246310005": ("amex", "ok"),
    "4000000000000341": ("visa", "charge_fails"),  # attaches fine, every charge declines
    "4000000000000002": ("visa", "declined"),  # declines at once, even when attaching
    "4000000000009995": ("visa", "insufficient_funds"),
    "4000000000000259": ("visa", "dispute"),  # charge succeeds, then a dispute opens
    "4000000000009235": ("visa", "elevated_risk"),  # charge succeeds, Radar opens a review
    "4100000000000019": ("visa", "highest_risk"),  # Radar blocks the charge
    # Stripe's international test cards: they succeed, issued in the country of CARD_COUNTRIES.
    "4000000760000002": ("visa", "ok"),
    "4000001240000000": ("visa", "ok"),
    "4000002760000016": ("visa", "ok"),
    "4000002500000003": ("visa", "ok"),
    "4000008260000000": ("visa", "ok"),
    "4000003920000003": ("visa", "ok"),
    "4000003560000008": ("visa", "ok"),
    "4000006430000009": ("visa", "ok"),
}
CARD_COUNTRIES = {
    "4000000760000002": "BR",
    "4000001240000000": "CA",
    "4000002760000016": "DE",
    "4000002500000003": "FR",
    "4000008260000000": "GB",
    "4000003920000003": "JP",
    "4000003560000008": "IN",
    "4000006430000009": "RU",
}
TOKENS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_createDispute": "4000000000000259",
    "pm_card_riskLevelElevated": "4000000000009235",
    "pm_card_riskLevelHighest": "4100000000000019",
    "pm_card_br": "4000000760000002",
    "pm_card_ca": "4000001240000000",
    "pm_card_de": "4000002760000016",
    "pm_card_fr": "4000002500000003",
    "pm_card_gb": "4000008260000000",
    "pm_card_jp": "4000003920000003",
    "pm_card_in": "4000003560000008",
    "pm_card_ru": "4000006430000009",
    "tok_visa": "4242424242424242",
    "tok_mastercard": "5555555555554444",
    "tok_chargeCustomerFail": "4000000000000341",
    "tok_chargeDeclined": "4000000000000002",
}
# US bank accounts (routing 110000000) and SEPA IBANs from Stripe's testing docs.
ACH_ACCOUNTS = {
    "000123456789": "ok",
    "000222222227": "ok",
    "000111111116": "account_closed",
    "000111111113": "insufficient_funds",
}
SEPA_IBANS = {
    "DE89370400440532013000": "ok",
    "DE62370400440532013001": "charge_fails",
    "AT611904300234573201": "ok",
    "FR1420041010050500013M02606": "ok",
    "NL39RABO0300065264": "ok",
}

# Bacs Direct Debit test accounts (sort code 108800) from Stripe's testing docs.
BACS_ACCOUNTS = {"00012345": "ok", "90012345": "charge_fails", "33333335": "charge_fails"}
BACS_SORT_CODE = "108800"

DECLINES = {
    "charge_fails": ("card_declined", "generic_decline", "Your card was declined."),
    "declined": ("card_declined", "generic_decline", "Your card was declined."),
    "insufficient_funds": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "highest_risk": ("card_declined", "fraudulent", "Your card was declined."),
    "account_closed": ("payment_method_not_available", "account_closed", "The bank account is closed."),
    **local_methods.DECLINES,
}


def fingerprint_of(number: str) -> str:
    """Stripe's fingerprint: 16 letters and digits, the same for the same card number on one account."""
    digest = hashlib.sha256(f"sandbox-card:{number}".encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:16])


def card_error(behaviour: str, **extra) -> SandboxError:
    code, decline_code, message = DECLINES[behaviour]
    return SandboxError(402, message, type="card_error", code=code, decline_code=decline_code, **extra)


# --- payment methods ------------------------------------------------------------------------
def payment_method_behaviour(pm: dict) -> str:
    if pm["type"] == "card":
        return pm.get("_behaviour", "ok")
    if pm["type"] == "us_bank_account":
        return ACH_ACCOUNTS.get(pm.get("_account_number", ""), "ok")
    if pm["type"] == "sepa_debit":
        return SEPA_IBANS.get(pm.get("_iban", ""), "ok")
    if pm["type"] in local_methods.TYPES:
        return local_methods.behaviour(pm)
    if pm["type"] == "bacs_debit":
        return BACS_ACCOUNTS.get(pm.get("_account_number", ""), "ok")
    return "ok"


def create_payment_method(state: State, data: dict, now: int) -> dict:
    """A PaymentMethod from `payment_method_data`-style params: card / us_bank_account / sepa_debit."""
    kind = data.get("type")
    billing = data.get("billing_details") or {}
    details = {
        "address": {
            **dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state")),
            **(billing.get("address") or {}),
        },
        "email": billing.get("email"),
        "name": billing.get("name"),
        "phone": billing.get("phone"),
        "tax_id": None,
    }
    pm = make(
        "payment_method",
        id=new_id("payment_method"),
        type=kind,
        created=now,
        customer=None,
        billing_details=details,
        allow_redisplay="unspecified",
        metadata=data.get("metadata") or {},
    )
    if kind == "card":
        card = data.get("card") or {}
        number = str(card.get("number") or TOKENS.get(card.get("token", ""), "")).replace(" ", "")
        if number not in CARDS:
            if not number.isdigit() or len(number) < 12:
                raise SandboxError(
                    402,
                    "Your card number is incorrect.",
                    type="card_error",
                    code="incorrect_number",
                    param="card[number]",
                )
            CARDS[number] = ("visa", "ok")
        brand, behaviour = CARDS[number]
        if behaviour == "declined":
            raise card_error("declined")
        pm["card"] = {
            "brand": brand,
            "last4": number[-4:],
            "exp_month": int(card.get("exp_month") or 12),
            "exp_year": int(card.get("exp_year") or 2034),
            "funding": "credit",
            "country": CARD_COUNTRIES.get(number, "US"),
            "fingerprint": fingerprint_of(number),
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
            "display_brand": brand,
            "networks": {"available": [brand], "preferred": None},
            "wallet": None,
            "generated_from": None,
            "three_d_secure_usage": {"supported": True},
            "regulated_status": None,
        }
        pm["_behaviour"] = behaviour
    elif kind == "us_bank_account":
        bank = data.get("us_bank_account") or {}
        account = str(bank.get("account_number") or "")
        routing = str(bank.get("routing_number") or "")
        if routing != "110000000" or not account:
            raise SandboxError(
                400,
                "Use Stripe's test routing number 110000000 and a test account number.",
                param="us_bank_account[routing_number]",
            )
        pm["us_bank_account"] = {
            "account_holder_type": bank.get("account_holder_type") or "individual",
            "account_type": bank.get("account_type") or "checking",
            "bank_name": "STRIPE TEST BANK",
            "financial_connections_account": None,
            "fingerprint": f"fp{account[-8:]}",
            "last4": account[-4:],
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": routing,
            "status_details": {},
        }
        pm["_account_number"] = account
    elif kind == "sepa_debit":
        iban = str((data.get("sepa_debit") or {}).get("iban") or "").replace(" ", "").upper()
        if len(iban) < 15 or not iban[:2].isalpha():
            raise SandboxError(
                400, "The IBAN you provided is invalid.", code="invalid_bank_account_iban", param="sepa_debit[iban]"
            )
        if not billing.get("name") or not billing.get("email"):
            raise SandboxError(
                400,
                "SEPA Direct Debit needs billing_details[name] and billing_details[email].",
                param="billing_details[name]",
            )
        pm["sepa_debit"] = {
            "bank_code": iban[4:12],
            "branch_code": "",
            "country": iban[:2],
            "fingerprint": f"fp{iban[-8:]}",
            "generated_from": None,
            "last4": iban[-4:],
        }
        pm["_iban"] = iban
    elif kind in local_methods.TYPES:
        local_methods.fill(pm, data, billing)
    elif kind == "bacs_debit":
        bacs_debit_details(pm, data, billing)
    else:
        raise SandboxError(
            400,
            f"Invalid payment method type: {kind!r}. Use card, us_bank_account, sepa_debit, bacs_debit, "
            + ", ".join(local_methods.TYPES)
            + ".",
            param="type",
        )
    return state.add(pm)


def bacs_debit_details(pm: dict, data: dict, billing: dict) -> None:
    """A Bacs Direct Debit account: a sort code and an 8-digit account number, and the payer's name,
    email and address (Stripe needs them for the mandate it emails)."""
    bank = data.get("bacs_debit") or {}
    sort_code = str(bank.get("sort_code") or "").replace("-", "").replace(" ", "")
    account = str(bank.get("account_number") or "").replace(" ", "")
    if len(sort_code) != 6 or not sort_code.isdigit():
        raise SandboxError(400, "The sort code must be six digits.", param="bacs_debit[sort_code]")
    if len(account) != 8 or not account.isdigit():
        raise SandboxError(400, "The account number must be eight digits.", param="bacs_debit[account_number]")
    if not billing.get("name") or not billing.get("email"):
        raise SandboxError(
            400,
            "Bacs Direct Debit needs billing_details[name] and billing_details[email].",
            param="billing_details[name]",
        )
    pm["bacs_debit"] = {"fingerprint": f"fp{sort_code}{account[-4:]}", "last4": account[-4:], "sort_code": sort_code}
    pm["_account_number"] = account


def resolve_payment_method(state: State, value: str, now: int) -> dict:
    """An existing pm_… id, or a test token (pm_card_visa …) which makes a new PaymentMethod as Stripe does."""
    if value in TOKENS:
        return create_payment_method(state, {"type": "card", "card": {"number": TOKENS[value]}}, now)
    return state.get(value, "payment_method", param="payment_method")


def attach_payment_method(api: Api, value: str, customer: dict) -> dict:
    """Attach a pm_… id (or a test token, which makes a new PaymentMethod) to `customer`."""
    pm = resolve_payment_method(api.state, value, api.state.now(customer["id"]))
    if pm.get("customer") and pm["customer"] != customer["id"]:
        raise SandboxError(
            400, "This PaymentMethod is already attached to another customer.", code="payment_method_unexpected_state"
        )
    pm["customer"] = customer["id"]
    api.state.dirty = True
    api.emit("payment_method.attached", pm)
    return pm


def mandate_for(
    state: State, pm: dict, customer_id: str | None, now: int, acceptance: dict | None = None
) -> dict | None:
    """The mandate a bank debit method is saved with: how the customer accepted it, and for SEPA and
    Bacs the mandate reference that appears on their bank statements."""
    if pm["type"] not in ("us_bank_account", "sepa_debit", "bacs_debit", *local_methods.MANDATED):
        return None
    mandate_id = new_id("mandate")
    details: dict = {}
    if pm["type"] in ("sepa_debit", "bacs_debit"):
        details = {"reference": mandate_id[-12:].upper(), "url": None}
    if pm["type"] == "bacs_debit":
        details.update(network_status="accepted", revocation_reason=None, display_name="BILLING PORTAL")
    if pm["type"] == "us_bank_account":
        details = {"collection_method": None}
    online = (acceptance or {}).get("online")
    mandate = make(
        "mandate",
        id=mandate_id,
        payment_method=pm["id"],
        status="active",
        type="multi_use",
        customer_acceptance={
            "accepted_at": now,
            "offline": None if online else {},
            "online": online or None,
            "type": "online" if (acceptance or {}).get("type") == "online" else "offline",
        },
        payment_method_details={"type": pm["type"], pm["type"]: details},
        multi_use={},
    )
    return state.add(mandate)


# --- payments -------------------------------------------------------------------------------------
def create_charge(
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
    """Create a PaymentIntent and its Charge. Returns (intent, charge, behaviour). Bank debits go
    through engine.debits.create_payment (they settle days later)."""
    behaviour = payment_method_behaviour(pm)
    ok = behaviour in ("ok", "dispute", "elevated_risk")
    pi_id, ch_id = new_id("payment_intent"), new_id("charge")
    details = {
        "type": pm["type"],
        pm["type"]: {
            k: v
            for k, v in (pm.get(pm["type"]) or {}).items()
            if k
            in (
                "brand",
                "last4",
                "exp_month",
                "exp_year",
                "country",
                "bank_name",
                "routing_number",
                "funding",
                "fingerprint",
                "bsb_number",
                "institution_number",
                "transit_number",
                "bank",
                "bic",
                "sort_code",
            )
        },
    }
    risk = {"elevated_risk": ("elevated", 65), "highest_risk": ("highest", 95)}.get(behaviour, ("normal", 20))
    failure = None if ok else card_error(behaviour).error
    charge = make(
        "charge",
        id=ch_id,
        amount=amount,
        amount_captured=amount if ok else 0,
        amount_refunded=0,
        captured=ok,
        created=now,
        currency=currency,
        customer=customer,
        description=description,
        paid=ok,
        status="succeeded" if ok else "failed",
        payment_intent=pi_id,
        payment_method=pm["id"],
        payment_method_details=details,
        billing_details=pm.get("billing_details"),
        refunded=False,
        disputed=False,
        failure_code=failure and failure["code"],
        failure_message=failure and failure["message"],
        receipt_url=f"{api.base_url}/_sandbox/receipts/{ch_id}",
        outcome={
            "network_status": "approved_by_network" if ok else "declined_by_network",
            "reason": None if ok else failure["decline_code"],
            "risk_level": risk[0],
            "risk_score": risk[1],
            "rule": None,
            "type": "authorized" if ok else "issuer_declined",
            "seller_message": "Payment complete."
            if ok
            else "The bank did not return any further details with this decline.",
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
        },
        refunds={"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{ch_id}/refunds"},
        metadata={},
        review=None,
        balance_transaction=None,
    )
    intent = make(
        "payment_intent",
        id=pi_id,
        amount=amount,
        amount_received=amount if ok else 0,
        amount_capturable=0,
        capture_method="automatic",
        confirmation_method="automatic",
        created=now,
        currency=currency,
        customer=customer,
        description=description,
        latest_charge=ch_id,
        payment_method=pm["id"] if ok else None,
        payment_method_types=[pm["type"]],
        status="succeeded" if ok else "requires_payment_method",
        metadata={},
        last_payment_error=None if ok else {**failure, "charge": ch_id, "payment_method": public(copy_of(pm))},
    )
    api.state.add(intent)
    api.state.add(charge)
    api.emit("payment_intent.created", intent)
    if ok:
        if behaviour == "elevated_risk":  # Radar holds it for review as it succeeds: its events say so
            open_review(api, charge, risk_score=65, announce_charge=False)
        api.emit("charge.succeeded", charge)
        api.emit("payment_intent.succeeded", intent)
        if behaviour == "dispute":
            open_dispute(api, charge)
    else:
        api.emit("charge.failed", charge)
        api.emit("payment_intent.payment_failed", intent)
    return intent, charge, behaviour


def create_refund(api: Api, charge: dict, amount: int | None, reason: str | None, metadata: dict) -> dict:
    """Refund `amount` (default: all that is left) of a charge that succeeded; emits its events."""
    if not charge["paid"]:
        raise SandboxError(
            400, f"Charge {charge['id']} has not succeeded; nothing to refund.", code="charge_not_refundable"
        )
    refundable = charge["amount_captured"] - charge["amount_refunded"]
    amount = refundable if amount is None else amount
    if amount <= 0 or amount > refundable:
        raise SandboxError(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({refundable})",
            code="amount_too_large",
            param="amount",
        )
    if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
        raise SandboxError(400, "reason must be duplicate, fraudulent or requested_by_customer", param="reason")
    refund = make(
        "refund",
        id=new_id("refund"),
        amount=amount,
        charge=charge["id"],
        currency=charge["currency"],
        created=int(time.time()),
        payment_intent=charge["payment_intent"],
        reason=reason,
        status="succeeded",
        metadata=metadata,
        balance_transaction=None,
        destination_details={"type": charge["payment_method_details"]["type"]},
    )
    api.state.add(refund)
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    charge["refunds"]["data"].append(refund)
    api.emit("refund.created", refund)
    api.emit("charge.refunded", charge, previous)
    close_reviews_of(api, charge, "refunded_as_fraud" if reason == "fraudulent" else "refunded")
    settle_warnings_of(api, charge)
    return refund
