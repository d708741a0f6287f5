"""Stripe's REST resources at the pinned (dahlia) API version, as the portal uses them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from .billing import (
    card_error,
    copy_public,
    create_payment_method,
    list_object,
    mandate_for,
    payment_method_behaviour,
    period_end,
    public,
    resolve_payment_method,
)
from .core import SandboxError, State, copy_of, make, missing, new_id

ROUTES: list[tuple[str, str, Callable]] = []
PUBLISHABLE_OK: set[Callable] = set()  # handlers Stripe.js may call with a pk_ key


def route(method: str, path: str, *, publishable: bool = False):
    def register(func):
        ROUTES.append((method, path, func))
        if publishable:
            PUBLISHABLE_OK.add(func)
        return func

    return register


def readable(object_type: str, path: str, *, filters: tuple[str, ...] = ()) -> None:
    """Register `GET path/{id}` and `GET path` (list, filtered by equality on `filters`) for a type."""

    def retrieve(api: Api, params: dict, id: str) -> dict:
        return api.state.get(id, object_type)

    def listing(api: Api, params: dict) -> list:
        rows = api.state.all(object_type)
        for key in filters:
            if params.get(key):
                rows = [row for row in rows if row.get(key) == params[key]]
        return rows

    route("GET", f"{path}/{{id}}")(retrieve)
    route("GET", path)(listing)


def blank_address(**given) -> dict:
    return {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None, **given}


def check(params: dict, allowed: set[str]) -> None:
    for key in params:
        if key not in allowed and key != "expand":
            raise SandboxError(400, f"Received unknown parameter: {key}", code="parameter_unknown", param=key)


def as_bool(value, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def as_int(value, param: str, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SandboxError(400, f"Invalid integer: {value}", param=param) from None


def need(params: dict, key: str):
    if params.get(key) in (None, ""):
        raise SandboxError(400, f"Missing required param: {key}.", code="parameter_missing", param=key)
    return params[key]


class Api:
    """The resources. `emit` sends an event (and schedules its webhooks)."""

    def __init__(self, state: State, emit: Callable[[str, dict, dict | None], None], base_url: str):
        self.state = state
        self.emit = emit
        self.base_url = base_url


# --- account ------------------------------------------------------------------------------------
@route("GET", "/v1/account")
def account_get(api: Api, params: dict) -> dict:
    return api.state.account


# --- products and prices ---------------------------------------------------------------------
PRODUCT_FIELDS = {
    "name",
    "active",
    "description",
    "metadata",
    "tax_code",
    "unit_label",
    "statement_descriptor",
    "id",
    "default_price_data",
    "images",
    "url",
    "marketing_features",
    "shippable",
    "type",
}


@route("POST", "/v1/products")
def product_create(api: Api, params: dict) -> dict:
    check(params, PRODUCT_FIELDS)
    now = int(time.time())
    product = make(
        "product",
        id=params.get("id") or new_id("product"),
        name=need(params, "name"),
        active=as_bool(params.get("active"), True),
        description=params.get("description"),
        created=now,
        updated=now,
        metadata=params.get("metadata") or {},
        tax_code=params.get("tax_code"),
        type="service",
        images=[],
        marketing_features=[],
        unit_label=params.get("unit_label"),
    )
    api.state.add(product)
    api.emit("product.created", product)
    return product


@route("GET", "/v1/products/{id}")
def product_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "product")


@route("POST", "/v1/products/{id}")
def product_update(api: Api, params: dict, id: str) -> dict:
    check(params, PRODUCT_FIELDS - {"id"} | {"default_price"})
    product = api.state.get(id, "product")
    return update(api, product, params, "product.updated", bools={"active"})


@route("DELETE", "/v1/products/{id}")
def product_delete(api: Api, params: dict, id: str) -> dict:
    product = api.state.get(id, "product")
    api.state.remove(id)
    api.emit("product.deleted", {**product, "deleted": True})
    return {"id": id, "object": "product", "deleted": True}


@route("GET", "/v1/products")
def product_list(api: Api, params: dict) -> list:
    rows = api.state.all("product")
    if "active" in params:
        rows = [p for p in rows if p["active"] == as_bool(params["active"])]
    return rows


PRICE_FIELDS = {
    "product",
    "currency",
    "unit_amount",
    "unit_amount_decimal",
    "recurring",
    "lookup_key",
    "nickname",
    "metadata",
    "active",
    "tax_behavior",
    "billing_scheme",
    "product_data",
    "transfer_lookup_key",
}


@route("POST", "/v1/prices")
def price_create(api: Api, params: dict) -> dict:
    check(params, PRICE_FIELDS)
    currency = str(need(params, "currency")).lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise SandboxError(400, f"Invalid currency: {currency}", param="currency")
    if "product_data" in params:
        product = product_create(api, {"name": need(params["product_data"], "name")})
    else:
        product = api.state.get(need(params, "product"), "product", param="product")
    recurring = params.get("recurring")
    if recurring is not None:
        if recurring.get("interval") not in ("day", "week", "month", "year"):
            raise SandboxError(400, "recurring[interval] must be day, week, month or year", param="recurring[interval]")
        recurring = {
            "interval": recurring["interval"],
            "interval_count": as_int(recurring.get("interval_count"), "recurring[interval_count]", 1),
            "meter": recurring.get("meter"),
            "usage_type": recurring.get("usage_type") or "licensed",
            "trial_period_days": None,
        }
        if recurring["usage_type"] == "metered" and recurring["meter"]:
            api.state.get(recurring["meter"], "billing.meter", param="recurring[meter]")
    amount = as_int(params.get("unit_amount"), "unit_amount")
    if amount is None and params.get("unit_amount_decimal") is None:
        raise SandboxError(400, "Missing required param: unit_amount.", code="parameter_missing", param="unit_amount")
    lookup_key = params.get("lookup_key")
    if lookup_key and any(p["lookup_key"] == lookup_key and p["active"] for p in api.state.all("price")):
        if not as_bool(params.get("transfer_lookup_key")):
            raise SandboxError(400, f"A price (`{lookup_key}`) already uses that lookup key.", param="lookup_key")
        for other in api.state.all("price"):
            if other["lookup_key"] == lookup_key:
                other["lookup_key"] = None
    price = make(
        "price",
        id=new_id("price"),
        active=as_bool(params.get("active"), True),
        billing_scheme="per_unit",
        created=int(time.time()),
        currency=currency,
        lookup_key=lookup_key,
        metadata=params.get("metadata") or {},
        nickname=params.get("nickname"),
        product=product["id"],
        recurring=recurring,
        tax_behavior=params.get("tax_behavior") or "unspecified",
        type="recurring" if recurring else "one_time",
        unit_amount=amount,
        unit_amount_decimal=str(params.get("unit_amount_decimal") or amount),
    )
    api.state.add(price)
    api.emit("price.created", price)
    return price


@route("GET", "/v1/prices/{id}")
def price_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "price")


@route("POST", "/v1/prices/{id}")
def price_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"active", "metadata", "nickname", "lookup_key", "tax_behavior", "transfer_lookup_key"})
    params.pop("transfer_lookup_key", None)
    return update(api, api.state.get(id, "price"), params, "price.updated", bools={"active"})


@route("GET", "/v1/prices")
def price_list(api: Api, params: dict) -> list:
    rows = api.state.all("price")
    if "active" in params:
        rows = [p for p in rows if p["active"] == as_bool(params["active"])]
    if params.get("product"):
        rows = [p for p in rows if p["product"] == params["product"]]
    if params.get("currency"):
        rows = [p for p in rows if p["currency"] == params["currency"].lower()]
    if params.get("lookup_keys"):
        keys = set(params["lookup_keys"])
        rows = [p for p in rows if p["lookup_key"] in keys]
    if params.get("type"):
        rows = [p for p in rows if p["type"] == params["type"]]
    return rows


def update(
    api: Api, obj: dict, params: dict, event: str | None, *, bools: set[str] = frozenset(), ints: set[str] = frozenset()
) -> dict:
    """Apply plain field updates, emitting `<type>.updated` with previous_attributes."""
    previous = {}
    for key, value in params.items():
        if key == "expand":
            continue
        if key in bools:
            value = as_bool(value)
        if key in ints:
            value = as_int(value, key)
        if key == "metadata":
            merged = dict(obj.get("metadata") or {})
            for k, v in (value or {}).items():
                if v in ("", None):
                    merged.pop(k, None)
                else:
                    merged[k] = v
            value = merged
        if isinstance(value, dict) and isinstance(obj.get(key), dict) and key != "metadata":
            value = {**obj[key], **value}
        if obj.get(key) != value:
            previous[key] = copy_of(obj.get(key))
            obj[key] = value
    if "updated" in obj:
        obj["updated"] = int(time.time())
    api.state.dirty = True
    if event and previous:
        api.emit(event, obj, previous)
    return obj


# --- customers ----------------------------------------------------------------------------------
CUSTOMER_FIELDS = {
    "email",
    "name",
    "description",
    "phone",
    "address",
    "shipping",
    "metadata",
    "preferred_locales",
    "tax_exempt",
    "invoice_settings",
    "invoice_prefix",
    "test_clock",
    "payment_method",
    "tax_id_data",
    "tax",
    "balance",
}


@route("POST", "/v1/customers")
def customer_create(api: Api, params: dict) -> dict:
    check(params, CUSTOMER_FIELDS)
    if params.get("tax_exempt", "none") not in ("none", "exempt", "reverse"):
        raise SandboxError(400, "tax_exempt must be none, exempt or reverse", param="tax_exempt")
    clock = params.get("test_clock")
    if clock:
        api.state.get(clock, "test_helpers.test_clock", param="test_clock")
    cid = new_id("customer")
    address = params.get("address")
    if address:
        address = blank_address(**address)
    customer = make(
        "customer",
        id=cid,
        address=address,
        balance=0,
        created=int(time.time()),
        currency=None,
        default_source=None,
        delinquent=False,
        description=params.get("description"),
        email=params.get("email"),
        invoice_prefix=params.get("invoice_prefix") or cid[4:12].upper(),
        invoice_settings={
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
            **(params.get("invoice_settings") or {}),
        },
        metadata=params.get("metadata") or {},
        name=params.get("name"),
        phone=params.get("phone"),
        preferred_locales=params.get("preferred_locales") or [],
        shipping=None,
        tax_exempt=params.get("tax_exempt") or "none",
        test_clock=clock,
        next_invoice_sequence=1,
    )
    api.state.add(customer)
    api.emit("customer.created", customer)
    if params.get("payment_method"):
        payment_method_attach(api, {"customer": cid}, params["payment_method"])
    for tax_id in params.get("tax_id_data") or []:
        tax_id_create(api, tax_id, cid)
    return customer


@route("GET", "/v1/customers/search")
def customer_search(api: Api, params: dict) -> dict:
    query = str(need(params, "query"))
    rows = api.state.all("customer")
    for field, value in re.findall(r"(\w+)\s*:\s*['\"]([^'\"]*)['\"]", query):
        if field == "metadata":
            continue
        rows = [c for c in rows if str(c.get(field) or "").lower() == value.lower()]
    for key, value in re.findall(r"metadata\['([^']+)'\]\s*:\s*['\"]([^'\"]*)['\"]", query):
        rows = [c for c in rows if (c.get("metadata") or {}).get(key) == value]
    rows = list(reversed(rows))[: as_int(params.get("limit"), "limit", 10)]
    return {
        "object": "search_result",
        "data": rows,
        "has_more": False,
        "next_page": None,
        "url": "/v1/customers/search",
        "total_count": len(rows),
    }


@route("GET", "/v1/customers/{id}")
def customer_get(api: Api, params: dict, id: str) -> dict:
    obj = api.state.objects.get(id)
    if obj is not None and obj["object"] == "customer" and obj.get("deleted"):
        return {"id": id, "object": "customer", "deleted": True}
    return api.state.get(id, "customer")


@route("POST", "/v1/customers/{id}")
def customer_update(api: Api, params: dict, id: str) -> dict:
    check(params, CUSTOMER_FIELDS - {"test_clock", "payment_method", "tax_id_data"} | {"default_source"})
    customer = api.state.get(id, "customer")
    default_pm = (params.get("invoice_settings") or {}).get("default_payment_method")
    if default_pm:
        pm = api.state.get(default_pm, "payment_method", param="invoice_settings[default_payment_method]")
        if pm.get("customer") != id:
            raise SandboxError(
                400,
                f"The payment method {default_pm} is not attached to customer {id}.",
                param="invoice_settings[default_payment_method]",
            )
    return update(api, customer, params, "customer.updated")


@route("DELETE", "/v1/customers/{id}")
def customer_delete(api: Api, params: dict, id: str) -> dict:
    from .subscriptions import subscription_cancel

    customer = api.state.get(id, "customer")
    for sub in api.state.all("subscription"):
        if sub["customer"] == id and sub["status"] not in ("canceled", "incomplete_expired"):
            subscription_cancel(api, {}, sub["id"])
    customer["deleted"] = True
    api.emit("customer.deleted", {"id": id, "object": "customer", "deleted": True, **public(customer)})
    return {"id": id, "object": "customer", "deleted": True}


@route("GET", "/v1/customers")
def customer_list(api: Api, params: dict) -> list:
    rows = [c for c in api.state.all("customer") if not c.get("deleted")]
    if params.get("email"):
        rows = [c for c in rows if (c.get("email") or "").lower() == params["email"].lower()]
    if params.get("test_clock"):
        rows = [c for c in rows if c.get("test_clock") == params["test_clock"]]
    return rows


# --- tax ids -----------------------------------------------------------------------------------
TAX_ID_TYPES = {
    "eu_vat": r"[A-Z]{2}[0-9A-Z]{8,12}",
    "gb_vat": r"GB[0-9]{9}",
    "us_ein": r"[0-9]{2}-?[0-9]{7}",
    "au_abn": r"[0-9]{11}",
    "jp_cn": r"[0-9]{13}",
    "kr_brn": r"[0-9]{3}-?[0-9]{2}-?[0-9]{5}",
    "in_gst": r"[0-9A-Z]{15}",
    "br_cnpj": r"[0-9./-]{14,18}",
    "ca_bn": r"[0-9]{9}",
    "ch_vat": r"CHE-?[0-9]{3}\.?[0-9]{3}\.?[0-9]{3} ?(MWST|TVA|IVA)?",
    "sg_gst": r"[0-9A-Z]{9,10}",
    "no_vat": r"[0-9]{9}MVA",
    "sa_vat": r"[0-9]{15}",
    "ae_trn": r"[0-9]{15}",
}


@route("POST", "/v1/customers/{customer}/tax_ids")
def tax_id_create(api: Api, params: dict, customer: str) -> dict:
    check(params, {"type", "value"})
    owner = api.state.get(customer, "customer", param="customer")
    kind, value = need(params, "type"), str(need(params, "value")).strip()
    pattern = TAX_ID_TYPES.get(kind)
    if pattern is None:
        raise SandboxError(400, f"Invalid value for type: {kind}", param="type")
    if not re.fullmatch(pattern, value.replace(" ", "")):
        raise SandboxError(400, f"Invalid value for {kind}.", code="tax_id_invalid", param="value")
    country = value[:2] if kind == "eu_vat" else kind[:2].upper()
    tax_id = make(
        "tax_id",
        id=new_id("tax_id"),
        type=kind,
        value=value,
        country=country,
        created=int(time.time()),
        customer=owner["id"],
        owner={"customer": owner["id"], "type": "customer", "account": None, "application": None},
        verification={"status": "pending", "verified_address": None, "verified_name": None},
    )
    api.state.add(tax_id)
    api.emit("customer.tax_id.created", tax_id)
    return tax_id


@route("GET", "/v1/customers/{customer}/tax_ids")
def tax_id_list(api: Api, params: dict, customer: str) -> list:
    api.state.get(customer, "customer", param="customer")
    return [t for t in api.state.all("tax_id") if t["customer"] == customer]


@route("GET", "/v1/customers/{customer}/tax_ids/{id}")
def tax_id_get(api: Api, params: dict, customer: str, id: str) -> dict:
    return api.state.get(id, "tax_id")


@route("DELETE", "/v1/customers/{customer}/tax_ids/{id}")
def tax_id_delete(api: Api, params: dict, customer: str, id: str) -> dict:
    tax_id = api.state.get(id, "tax_id")
    api.state.remove(id)
    api.emit("customer.tax_id.deleted", {**tax_id, "deleted": True})
    return {"id": id, "object": "tax_id", "deleted": True}


# --- payment methods and setup intents ------------------------------------------------------
@route("POST", "/v1/payment_methods", publishable=True)
def payment_method_create(api: Api, params: dict) -> dict:
    check(
        params,
        {
            "type",
            "card",
            "us_bank_account",
            "sepa_debit",
            "billing_details",
            "metadata",
            "customer",
            "payment_method",
            "allow_redisplay",
        },
    )
    return create_payment_method(api.state, params, int(time.time()))


@route("GET", "/v1/payment_methods/{id}")
def payment_method_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "payment_method")


@route("POST", "/v1/payment_methods/{id}")
def payment_method_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"billing_details", "metadata", "card", "allow_redisplay"})
    return update(api, api.state.get(id, "payment_method"), params, "payment_method.updated")


@route("POST", "/v1/payment_methods/{id}/attach")
def payment_method_attach(api: Api, params: dict, id: str) -> dict:
    check(params, {"customer"})
    customer = api.state.get(need(params, "customer"), "customer", param="customer")
    pm = resolve_payment_method(api.state, id, api.state.now(customer["id"]))
    if pm.get("customer") and pm["customer"] != customer["id"]:
        raise SandboxError(
            400, "This PaymentMethod is already attached to another customer.", code="payment_method_unexpected_state"
        )
    pm["customer"] = customer["id"]
    api.state.dirty = True
    api.emit("payment_method.attached", pm)
    return pm


@route("POST", "/v1/payment_methods/{id}/detach")
def payment_method_detach(api: Api, params: dict, id: str) -> dict:
    pm = api.state.get(id, "payment_method")
    if not pm.get("customer"):
        raise SandboxError(
            400,
            "The payment method you provided is not attached to a customer.",
            code="payment_method_unexpected_state",
        )
    customer = api.state.objects.get(pm["customer"])
    pm["customer"] = None
    if customer and customer["invoice_settings"].get("default_payment_method") == id:
        update(api, customer, {"invoice_settings": {"default_payment_method": None}}, "customer.updated")
    for sub in api.state.all("subscription"):
        if sub.get("default_payment_method") == id:
            update(api, sub, {"default_payment_method": None}, "customer.subscription.updated")
    api.emit("payment_method.detached", pm, {"customer": customer["id"] if customer else None})
    return pm


def _payment_method_rows(api: Api, customer: str, kind: str | None) -> list:
    rows = [p for p in api.state.all("payment_method") if p.get("customer") == customer]
    return [p for p in rows if p["type"] == kind] if kind else rows


@route("GET", "/v1/payment_methods")
def payment_method_list(api: Api, params: dict) -> list:
    if params.get("customer"):
        api.state.get(params["customer"], "customer", param="customer")
        return _payment_method_rows(api, params["customer"], params.get("type"))
    return [p for p in api.state.all("payment_method") if not params.get("type") or p["type"] == params["type"]]


@route("GET", "/v1/customers/{customer}/payment_methods")
def customer_payment_methods(api: Api, params: dict, customer: str) -> list:
    api.state.get(customer, "customer", param="customer")
    return _payment_method_rows(api, customer, params.get("type"))


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
            pm["type"] in ("us_bank_account", "sepa_debit")
            and not params.get("mandate_data")
            and not params.get("client_secret")
        ):
            raise SandboxError(400, "mandate_data is required for this payment method type.", param="mandate_data")
    except SandboxError as error:
        seti["last_setup_error"] = {**error.error, "setup_intent": None}
        seti["status"] = "requires_payment_method"
        api.emit("setup_intent.setup_failed", seti)
        error.error["setup_intent"] = public(copy_of(seti))
        raise
    seti["payment_method"] = pm["id"]
    seti["status"] = "succeeded"
    seti["last_setup_error"] = None
    mandate = mandate_for(api.state, pm, seti.get("customer"), now)
    seti["mandate"] = mandate["id"] if mandate else None
    if seti.get("customer"):
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


# --- tax rates ----------------------------------------------------------------------------------
@route("POST", "/v1/tax_rates")
def tax_rate_create(api: Api, params: dict) -> dict:
    check(
        params,
        {
            "display_name",
            "percentage",
            "inclusive",
            "country",
            "state",
            "jurisdiction",
            "description",
            "tax_type",
            "metadata",
            "active",
        },
    )
    try:
        percentage = float(need(params, "percentage"))
    except ValueError:
        raise SandboxError(400, "Invalid decimal: percentage", param="percentage") from None
    rate = make(
        "tax_rate",
        id=new_id("tax_rate"),
        display_name=need(params, "display_name"),
        percentage=percentage,
        effective_percentage=percentage,
        inclusive=as_bool(need(params, "inclusive")),
        country=params.get("country"),
        state=params.get("state"),
        jurisdiction=params.get("jurisdiction"),
        description=params.get("description"),
        tax_type=params.get("tax_type"),
        active=True,
        created=int(time.time()),
        metadata=params.get("metadata") or {},
    )
    api.state.add(rate)
    api.emit("tax_rate.created", rate)
    return rate


@route("GET", "/v1/tax_rates/{id}")
def tax_rate_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "tax_rate")


@route("POST", "/v1/tax_rates/{id}")
def tax_rate_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"active", "display_name", "description", "metadata", "jurisdiction", "tax_type", "country"})
    return update(api, api.state.get(id, "tax_rate"), params, "tax_rate.updated", bools={"active"})


@route("GET", "/v1/tax_rates")
def tax_rate_list(api: Api, params: dict) -> list:
    rows = api.state.all("tax_rate")
    return [r for r in rows if "active" not in params or r["active"] == as_bool(params["active"])]


# --- events and webhook endpoints ---------------------------------------------------------------
@route("GET", "/v1/events/{id}")
def event_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "event")


@route("GET", "/v1/events")
def event_list(api: Api, params: dict) -> list:
    rows = api.state.all("event")
    if params.get("type"):
        pattern = re.compile("^" + re.escape(params["type"]).replace(r"\*", ".*") + "$")
        rows = [e for e in rows if pattern.match(e["type"])]
    if params.get("types"):
        rows = [e for e in rows if e["type"] in set(params["types"])]
    created = params.get("created")
    if isinstance(created, dict):
        for op, test in (
            ("gte", lambda a, b: a >= b),
            ("gt", lambda a, b: a > b),
            ("lte", lambda a, b: a <= b),
            ("lt", lambda a, b: a < b),
        ):
            if op in created:
                bound = as_int(created[op], f"created[{op}]")
                rows = [e for e in rows if test(e["created"], bound)]
    return rows


@route("POST", "/v1/webhook_endpoints")
def webhook_endpoint_create(api: Api, params: dict) -> dict:
    check(params, {"url", "enabled_events", "api_version", "description", "metadata", "connect"})
    url = str(need(params, "url"))
    if not re.match(r"^https?://", url):
        raise SandboxError(400, "Invalid URL: the URL must start with http:// or https://", param="url")
    host = re.sub(r"^https?://(\[[^\]]+\]|[^/:]+).*$", r"\1", url)
    if host not in ("localhost", "[::1]") and not host.startswith("127."):
        raise SandboxError(
            400, "The sandbox delivers webhooks to this machine only (127.0.0.1, localhost).", param="url"
        )
    events = params.get("enabled_events")
    if not events:
        raise SandboxError(
            400, "Missing required param: enabled_events.", code="parameter_missing", param="enabled_events"
        )
    endpoint = make(
        "webhook_endpoint",
        id=new_id("webhook_endpoint"),
        url=url,
        enabled_events=list(events),
        api_version=params.get("api_version") or api.state.api_version,
        status="enabled",
        description=params.get("description"),
        created=int(time.time()),
        metadata=params.get("metadata") or {},
        application=None,
    )
    secret = "whsec_" + new_id("event")[6:]
    api.state.secrets[endpoint["id"]] = secret
    api.state.add(endpoint)
    return {**endpoint, "secret": secret}


@route("GET", "/v1/webhook_endpoints/{id}")
def webhook_endpoint_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "webhook_endpoint")


@route("POST", "/v1/webhook_endpoints/{id}")
def webhook_endpoint_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"url", "enabled_events", "description", "metadata", "disabled"})
    endpoint = api.state.get(id, "webhook_endpoint")
    if "disabled" in params:
        endpoint["status"] = "disabled" if as_bool(params.pop("disabled")) else "enabled"
    return update(api, endpoint, params, None)


@route("DELETE", "/v1/webhook_endpoints/{id}")
def webhook_endpoint_delete(api: Api, params: dict, id: str) -> dict:
    api.state.get(id, "webhook_endpoint")
    api.state.remove(id)
    api.state.secrets.pop(id, None)
    return {"id": id, "object": "webhook_endpoint", "deleted": True}


@route("GET", "/v1/webhook_endpoints")
def webhook_endpoint_list(api: Api, params: dict) -> list:
    return api.state.all("webhook_endpoint")


@route("GET", "/v1/checkout/sessions")
def checkout_session_list(api: Api, params: dict) -> list:
    return api.state.all("checkout.session")


def get_or_404(api: Api, object_id: str, object_type: str) -> dict:
    obj = api.state.objects.get(object_id)
    if obj is None or obj["object"] != object_type:
        raise missing(object_type, object_id)
    return obj


def list_page(rows: list, params: dict, url: str) -> dict:
    """Stripe's cursor pagination over rows in creation order, newest first."""
    limit = as_int(params.get("limit"), "limit", 10)
    if not 1 <= limit <= 100:
        raise SandboxError(400, "Limit must be between 1 and 100.", param="limit")
    newest_first = list(reversed(rows))
    ids = [r["id"] for r in newest_first]
    if params.get("starting_after"):
        if params["starting_after"] not in ids:
            raise missing("object", params["starting_after"], "starting_after")
        start = ids.index(params["starting_after"]) + 1
        window = newest_first[start : start + limit]
        has_more = start + limit < len(newest_first)
    elif params.get("ending_before"):
        if params["ending_before"] not in ids:
            raise missing("object", params["ending_before"], "ending_before")
        end = ids.index(params["ending_before"])
        window = newest_first[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        window = newest_first[:limit]
        has_more = len(newest_first) > limit
    return {"object": "list", "data": window, "has_more": has_more, "url": url}


__all__ = [
    "Api",
    "ROUTES",
    "PUBLISHABLE_OK",
    "check",
    "as_bool",
    "as_int",
    "need",
    "update",
    "list_page",
    "copy_public",
    "card_error",
    "payment_method_behaviour",
    "period_end",
    "list_object",
    "make",
    "new_id",
    "SandboxError",
    "get_or_404",
]
