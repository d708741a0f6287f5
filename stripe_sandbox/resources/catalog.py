"""The catalog: products and prices (one-time and recurring, lookup keys, metered prices on a meter)."""

from __future__ import annotations

import re
import time

from ..core import SandboxError, make, new_id
from ..routing import Api, as_bool, as_int, check, need, route, update

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
