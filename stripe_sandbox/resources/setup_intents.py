"""SetupIntents (create, confirm — also from Stripe.js — retrieve, list) and the mandates they make."""

from __future__ import annotations

import time

from ..core import SandboxError, copy_of, make, new_id
from ..engine import local_methods
from ..engine.payments import create_payment_method, mandate_for, resolve_payment_method
from ..routing import Api, as_bool, as_int, check, public, route

SUPPORTED_TYPES = {"card", "us_bank_account", "sepa_debit", "bacs_debit", *local_methods.TYPES}
MICRODEPOSIT_CODE = "SM11AA"  # Stripe's test descriptor code; the amounts are 32 and 45
MICRODEPOSIT_AMOUNTS = [32, 45]
MICRODEPOSIT_ATTEMPTS = 3

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
    unknown = set(types) - SUPPORTED_TYPES
    if unknown:
        raise SandboxError(
            400,
            f"The payment method type {sorted(unknown)[0]!r} is invalid. Use one of {', '.join(sorted(SUPPORTED_TYPES))}.",
            param="payment_method_types",
        )
    options = _options(
        params.get("payment_method_options"),
        local_methods.check_setup_intent(types, params.get("payment_method_options")),
    )
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
        next_action=None,
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
            pm["type"] in ("us_bank_account", "sepa_debit", "bacs_debit", *local_methods.TYPES)
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
    seti["last_setup_error"] = None
    acceptance = (params.get("mandate_data") or {}).get("customer_acceptance")
    if params.get("payment_method_options"):
        seti["payment_method_options"] = _options(params["payment_method_options"], seti["payment_method_options"])
    method = ((seti["payment_method_options"] or {}).get("us_bank_account") or {}).get("verification_method")
    if pm["type"] == "us_bank_account" and method == "microdeposits":
        # Typed-in account details: two micro-deposits (here: a descriptor code) prove the account.
        seti.update(
            status="requires_action",
            next_action={
                "type": "verify_with_microdeposits",
                "verify_with_microdeposits": {
                    "arrival_date": now + 2 * 86400,
                    "hosted_verification_url": f"{api.base_url}/_sandbox/microdeposits/{seti['id']}",
                    "microdeposit_type": "descriptor_code",
                },
            },
        )
        seti["_acceptance"] = acceptance
        seti["_attempts"] = 0
        api.emit("setup_intent.requires_action", seti)
        return seti
    return _succeed(api, seti, pm, now, acceptance, generated)


def _succeed(api: Api, seti: dict, pm: dict, now: int, acceptance: dict | None, generated: dict | None = None) -> dict:
    """The SetupIntent succeeds: the method is saved with its mandate; a redirect method (iDEAL,
    Bancontact) saves the SEPA Direct Debit method it generated instead (local_methods.setup_attempt)."""
    seti.update(status="succeeded", next_action=None, last_setup_error=None)
    if generated is None:
        mandate = mandate_for(api.state, pm, seti.get("customer"), now, acceptance)
        seti["mandate"] = mandate["id"] if mandate else None
    if seti.get("customer") and generated is not None:
        api.emit("payment_method.attached", generated)  # a redirect method saves its SEPA account
    elif seti.get("customer"):
        pm["customer"] = seti["customer"]
        api.emit("payment_method.attached", pm)
    api.emit("setup_intent.succeeded", seti)
    return seti


def _options(given: dict | None, current: dict | None = None) -> dict:
    options = dict(current or {})
    bank = (given or {}).get("us_bank_account") or {}
    if bank:
        method = bank.get("verification_method") or "automatic"
        if method not in ("automatic", "instant", "microdeposits"):
            raise SandboxError(
                400,
                "verification_method must be automatic, instant or microdeposits.",
                param="payment_method_options[us_bank_account][verification_method]",
            )
        options["us_bank_account"] = {
            "verification_method": method,
            "financial_connections": {"permissions": ["payment_method"], "prefetch": None, "return_url": None},
            "mandate_options": {"collection_method": None},
        }
    return options


@route("POST", "/v1/setup_intents/{id}/verify_microdeposits", publishable=True)
def setup_intent_verify_microdeposits(api: Api, params: dict, id: str) -> dict:
    check(params, {"amounts", "descriptor_code", "client_secret", "key"})
    seti = api.state.get(id, "setup_intent")
    if params.get("client_secret") and params["client_secret"] != seti["client_secret"]:
        raise SandboxError(400, "The client_secret provided does not match this SetupIntent.", param="client_secret")
    action = (seti.get("next_action") or {}).get("type")
    if seti["status"] != "requires_action" or action != "verify_with_microdeposits":
        raise SandboxError(
            400,
            f"This SetupIntent is {seti['status']}: there are no micro-deposits to verify.",
            code="setup_intent_unexpected_state",
        )
    code = str(params.get("descriptor_code") or "").strip().upper()
    amounts = [as_int(a, "amounts") for a in (params.get("amounts") or [])]
    if not code and not amounts:
        raise SandboxError(
            400, "Provide descriptor_code (or amounts).", code="parameter_missing", param="descriptor_code"
        )
    if code == MICRODEPOSIT_CODE or sorted(amounts) == MICRODEPOSIT_AMOUNTS:
        pm = api.state.objects[seti["payment_method"]]
        return _succeed(api, seti, pm, api.state.now(seti.get("customer")), seti.pop("_acceptance", None))
    seti["_attempts"] = seti.get("_attempts", 0) + 1
    left = MICRODEPOSIT_ATTEMPTS - seti["_attempts"]
    if left <= 0:
        error = SandboxError(
            400,
            "You have exceeded the number of allowed verification attempts.",
            code="payment_method_microdeposit_verification_attempts_exceeded",
        )
        seti.update(status="requires_payment_method", next_action=None, payment_method=None)
        seti["last_setup_error"] = {**error.error, "setup_intent": None}
        api.emit("setup_intent.setup_failed", seti)
        raise error
    if code:
        raise SandboxError(
            400,
            f"The verification code provided does not match the one sent to the bank account. "
            f"{left} attempt{'s' if left != 1 else ''} left.",
            code="payment_method_microdeposit_verification_descriptor_code_mismatch",
            param="descriptor_code",
        )
    raise SandboxError(
        400,
        f"The amounts provided do not match the amounts that were sent to the bank account. "
        f"{left} attempt{'s' if left != 1 else ''} left.",
        code="payment_method_microdeposit_verification_amounts_mismatch",
        param="amounts",
    )


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
