"""Customers (create, update, delete, list by email, search) and their tax IDs."""

from __future__ import annotations

import asyncio
import re
import time

from ..core import SandboxError, make, new_id
from ..engine.lifecycle import cancel_subscription
from ..engine.payments import attach_payment_method
from ..routing import Api, as_int, blank_address, check, need, public, route, update

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
        attach_payment_method(api, params["payment_method"], customer)
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
    settings = params.get("invoice_settings") or {}
    if "custom_fields" in settings:  # a list (form-encoded as an indexed dict); "" clears it
        fields = settings["custom_fields"] or None
        if isinstance(fields, dict):
            fields = [fields[k] for k in sorted(fields, key=int)]
        if fields and len(fields) > 4:
            raise SandboxError(400, "At most 4 custom fields.", param="invoice_settings[custom_fields]")
        params = {**params, "invoice_settings": {**settings, "custom_fields": fields}}
    if params.get("tax_exempt") not in (None, "none", "exempt", "reverse"):
        raise SandboxError(400, "tax_exempt must be none, exempt or reverse", param="tax_exempt")
    return update(api, customer, params, "customer.updated")


@route("DELETE", "/v1/customers/{id}")
def customer_delete(api: Api, params: dict, id: str) -> dict:
    customer = api.state.get(id, "customer")
    for sub in api.state.all("subscription"):
        if sub["customer"] == id and sub["status"] not in ("canceled", "incomplete_expired"):
            cancel_subscription(api, sub, None)
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
    "nz_gst": r"[0-9]{8,9}",
    "br_cpf": r"[0-9.-]{11,14}",
    "mx_rfc": r"[A-Z&]{3,4}[0-9]{6}[A-Z0-9]{3}",
    "sg_uen": r"[0-9A-Z]{9,10}",
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
    verify_later(api, tax_id)
    return tax_id


# Stripe checks these types with the tax authority (VIES, HMRC, ABR) after they are added and
# reports the answer by `customer.tax_id.updated`; other types stay `unavailable`.
VERIFIED_TYPES = {"eu_vat", "gb_vat", "au_abn"}
VERIFY_AFTER_SECONDS = 1.5


def verify_later(api: Api, tax_id: dict) -> None:
    """The authority's answer, a moment later, as an event. A value with 000000 in it is unverified
    (the sandbox's test value); `POST /_sandbox/tax_ids/{id}/verification` sets any status."""
    status = "pending" if tax_id["type"] in VERIFIED_TYPES else "unavailable"
    tax_id["verification"]["status"] = status
    if status != "pending":
        return
    outcome = "unverified" if "000000" in tax_id["value"] else "verified"
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_later(VERIFY_AFTER_SECONDS, set_verification, api, tax_id["id"], outcome)


def set_verification(api: Api, tax_id_id: str, status: str) -> dict | None:
    with api.state.lock:
        tax_id = api.state.objects.get(tax_id_id)
        if tax_id is None or tax_id.get("deleted"):
            return None
        previous = {"verification": dict(tax_id["verification"])}
        customer = api.state.objects.get(tax_id["customer"]) or {}
        tax_id["verification"] = {
            "status": status,
            "verified_address": None,
            "verified_name": customer.get("name") if status == "verified" else None,
        }
        api.state.dirty = True
        api.emit("customer.tax_id.updated", tax_id, previous)
        return tax_id


@route("GET", "/v1/tax_ids/{id}")
def tax_id_retrieve(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "tax_id")


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
