"""SetupIntents (create, confirm — also from Stripe.js — retrieve, list) and the mandates they make."""

from __future__ import annotations

import time

from ..core import SandboxError, copy_of, make, new_id
from ..engine import local_methods
from ..engine.payments import create_payment_method, mandate_for, resolve_payment_method
from ..routing import Api, as_bool, check, public, route

SETUP_FIELDS = {
    "customer",
    "payment_method",
    "payment_method_types",
    "payment_method_data",
    "usage",
    "confirm",
    "mandate_data",
    "metadata",
    "description",
    "return_url",
    "automatic_payment_methods",
    "payment_method_options",
    "client_secret",
    "use_stripe_sdk",
}


@route("POST", "/v1/setup_intents")
def setup_intent_create(api: Api, params: dict) -> dict:
    check(params, SETUP_FIELDS - {"client_secret", "use_stripe_sdk"})
    customer = params.get("customer")
    if customer:
        api.state.get(customer, "customer", param="customer")
    sid = new_id("setup_intent")
    types = params.get("payment_method_types") or ["card"]
    options = local_methods.check_setup_intent(types, params.get("payment_method_options"))
    seti = make(
        "setup_intent",
        id=sid,
        client_secret=f"{sid}_secret_{new_id('event')[6:20]}",
        created=int(time.time()),
        customer=customer,
        payment_method=None,
        payment_method_types=types,
        status="requires_payment_method",
        usage=params.get("usage") or "off_session",
        description=params.get("description"),
        metadata=params.get("metadata") or {},
        flow_directions=None,
        mandate=None,
        last_setup_error=None,
        latest_attempt=None,
        payment_method_options=options or None,
    )
    api.state.add(seti)
    api.emit("setup_intent.created", seti)
    if params.get("payment_method") or params.get("payment_method_data"):
        seti["status"] = "requires_confirmation"
    if as_bool(params.get("confirm")):
        return setup_intent_confirm(
            api,
            {k: v for k, v in params.items() if k in ("payment_method", "payment_method_data", "mandate_data")},
            sid,
        )
    if params.get("payment_method"):
        seti["payment_method"] = resolve_payment_method(api.state, params["payment_method"], int(time.time()))["id"]
    return seti


@route("POST", "/v1/setup_intents/{id}/confirm", publishable=True)
def setup_intent_confirm(api: Api, params: dict, id: str) -> dict:
    check(
        params,
        {
            "payment_method",
            "payment_method_data",
            "mandate_data",
            "client_secret",
            "return_url",
            "use_stripe_sdk",
            "payment_method_options",
            "key",
        },
    )
    seti = api.state.get(id, "setup_intent")
    if params.get("client_secret") and params["client_secret"] != seti["client_secret"]:
        raise SandboxError(
            400,
            "The client_secret provided does not match the client_secret associated with the SetupIntent.",
            param="client_secret",
        )
    if seti["status"] == "succeeded":
        raise SandboxError(400, "This SetupIntent has already succeeded.", code="setup_intent_unexpected_state")
    now = api.state.now(seti.get("customer"))
    try:
        if params.get("payment_method_data"):
            pm = create_payment_method(api.state, params["payment_method_data"], now)
        elif params.get("payment_method") or seti.get("payment_method"):
            pm = resolve_payment_method(api.state, params.get("payment_method") or seti["payment_method"], now)
        else:
            raise SandboxError(
                400,
                "You must provide a payment method to confirm this SetupIntent.",
                code="payment_method_missing",
                param="payment_method",
            )
        if pm["type"] not in seti["payment_method_types"]:
            raise SandboxError(
                400,
                f"The payment method type {pm['type']} is not allowed for this SetupIntent "
                f"(allowed: {', '.join(seti['payment_method_types'])}).",
                param="payment_method_types",
            )
        if (
            pm["type"] in ("us_bank_account", "sepa_debit", *local_methods.TYPES)
            and not params.get("mandate_data")
            and not params.get("client_secret")
        ):
            raise SandboxError(400, "mandate_data is required for this payment method type.", param="mandate_data")
        generated = None
        if pm["type"] in local_methods.TYPES:
            _, generated = local_methods.setup_attempt(api.state, seti, pm, now, create_payment_method, mandate_for)
    except SandboxError as error:
        seti["last_setup_error"] = {**error.error, "setup_intent": None}
        seti["status"] = "requires_payment_method"
        api.emit("setup_intent.setup_failed", seti)
        error.error["setup_intent"] = public(copy_of(seti))
        raise
    seti["payment_method"] = pm["id"]
    seti["status"] = "succeeded"
    seti["last_setup_error"] = None
    if generated is None:
        mandate = mandate_for(api.state, pm, seti.get("customer"), now)
        seti["mandate"] = mandate["id"] if mandate else None
    if seti.get("customer") and generated is not None:
        api.emit("payment_method.attached", generated)  # a redirect method saves its SEPA account
    elif seti.get("customer"):
        pm["customer"] = seti["customer"]
        api.emit("payment_method.attached", pm)
    api.emit("setup_intent.succeeded", seti)
    return seti


@route("GET", "/v1/setup_intents/{id}", publishable=True)
def setup_intent_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "setup_intent")


@route("GET", "/v1/setup_intents")
def setup_intent_list(api: Api, params: dict) -> list:
    rows = api.state.all("setup_intent")
    return [s for s in rows if not params.get("customer") or s["customer"] == params["customer"]]


@route("GET", "/v1/mandates/{id}")
def mandate_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "mandate")
