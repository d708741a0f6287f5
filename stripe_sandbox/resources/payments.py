"""Payment intents, charges, refunds, disputes (listing, closing) and Radar reviews (listing, approving).

Dispute evidence is in `disputes`, early fraud warnings and value lists in `radar`."""

from __future__ import annotations

from ..core import SandboxError, copy_of, make, new_id
from ..engine.debits import create_payment
from ..engine.payments import (
    card_error,
    create_refund,
    payment_method_behaviour,
    resolve_payment_method,
)
from ..engine.risk import accept_dispute, close_review
from ..routing import Api, as_bool, as_int, check, need, public, readable, route


@route("POST", "/v1/payment_intents")
def payment_intent_create(api: Api, params: dict) -> dict:
    check(
        params,
        {
            "amount",
            "currency",
            "customer",
            "payment_method",
            "confirm",
            "payment_method_types",
            "description",
            "metadata",
            "off_session",
            "capture_method",
            "setup_future_usage",
            "automatic_payment_methods",
            "receipt_email",
            "statement_descriptor",
            "mandate_data",
            "error_on_requires_action",
            "return_url",
        },
    )
    amount = as_int(need(params, "amount"), "amount")
    if amount <= 0:
        raise SandboxError(400, "This value must be greater than or equal to 1.", param="amount")
    currency = str(need(params, "currency")).lower()
    customer = params.get("customer")
    if customer:
        api.state.get(customer, "customer", param="customer")
    if as_bool(params.get("confirm")) and params.get("payment_method"):
        pm = resolve_payment_method(api.state, params["payment_method"], api.state.now(customer))
        if payment_method_behaviour(pm) == "declined":
            raise card_error("declined")
        intent, charge, behaviour = create_payment(
            api,
            amount=amount,
            currency=currency,
            customer=customer,
            pm=pm,
            description=params.get("description"),
            now=api.state.now(customer),
        )
        intent["metadata"] = params.get("metadata") or {}
        if charge["status"] == "failed":
            raise card_error(behaviour, charge=charge["id"], payment_intent=public(copy_of(intent)))
        return intent
    pi_id = new_id("payment_intent")
    intent = make(
        "payment_intent",
        id=pi_id,
        amount=amount,
        currency=currency,
        customer=customer,
        created=api.state.now(customer),
        status="requires_payment_method",
        client_secret=f"{pi_id}_secret_x",
        payment_method_types=params.get("payment_method_types") or ["card"],
        capture_method="automatic",
        confirmation_method="automatic",
        metadata=params.get("metadata") or {},
        description=params.get("description"),
    )
    api.state.add(intent)
    api.emit("payment_intent.created", intent)
    return intent


readable("payment_intent", "/v1/payment_intents", filters=("customer",))
readable("charge", "/v1/charges", filters=("customer", "payment_intent"))
readable("refund", "/v1/refunds", filters=("charge", "payment_intent"))
readable("dispute", "/v1/disputes", filters=("charge", "payment_intent"))
readable("review", "/v1/reviews")


@route("POST", "/v1/refunds")
def refund_create(api: Api, params: dict) -> dict:
    check(params, {"charge", "payment_intent", "amount", "reason", "metadata"})
    if params.get("payment_intent"):
        intent = api.state.get(params["payment_intent"], "payment_intent", param="payment_intent")
        charge = api.state.get(intent.get("latest_charge") or "", "charge", param="payment_intent")
    else:
        charge = api.state.get(need(params, "charge"), "charge", param="charge")
    return create_refund(
        api, charge, as_int(params.get("amount"), "amount"), params.get("reason"), params.get("metadata") or {}
    )


@route("POST", "/v1/disputes/{id}/close")
def dispute_close(api: Api, params: dict, id: str) -> dict:
    check(params, {"metadata"})
    return accept_dispute(api, api.state.get(id, "dispute"))


@route("POST", "/v1/reviews/{id}/approve")
def review_approve(api: Api, params: dict, id: str) -> dict:
    check(params, set())
    review = api.state.get(id, "review")
    if not review["open"]:
        raise SandboxError(
            400, f"This review is already closed ({review['closed_reason']}).", code="review_already_closed"
        )
    return close_review(api, review, "approved")
