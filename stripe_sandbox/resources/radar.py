"""Radar: early fraud warnings (retrieve, list), value lists and their items (the block lists Radar
rules refer to as `@alias`), each value checked against its list's item type as Stripe does."""

from __future__ import annotations

import ipaddress
import re
import time

from ..core import SandboxError, make, new_id
from ..routing import Api, check, need, route, update

ITEM_TYPES = {
    "card_bin",
    "card_fingerprint",
    "case_sensitive_string",
    "country",
    "customer_id",
    "email",
    "ip_address",
    "sepa_debit_fingerprint",
    "string",
    "us_bank_account_fingerprint",
}
ALIAS = re.compile(r"^[A-Za-z0-9_]{1,100}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@route("GET", "/v1/radar/early_fraud_warnings/{id}")
def efw_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "radar.early_fraud_warning")


@route("GET", "/v1/radar/early_fraud_warnings")
def efw_list(api: Api, params: dict) -> list:
    rows = api.state.all("radar.early_fraud_warning")
    for key in ("charge", "payment_intent"):
        if params.get(key):
            rows = [w for w in rows if w.get(key) == params[key]]
    return rows


# --- value lists ---------------------------------------------------------------------------------
def _items_of(api: Api, list_id: str) -> list[dict]:
    return [i for i in api.state.all("radar.value_list_item") if i["value_list"] == list_id]


def _with_items(api: Api, value_list: dict) -> dict:
    items = _items_of(api, value_list["id"])
    value_list["list_items"] = {
        "object": "list",
        "data": list(reversed(items))[:10],
        "has_more": len(items) > 10,
        "url": f"/v1/radar/value_list_items?value_list={value_list['id']}",
    }
    return value_list


@route("POST", "/v1/radar/value_lists")
def value_list_create(api: Api, params: dict) -> dict:
    check(params, {"alias", "name", "item_type", "metadata"})
    alias, name = str(need(params, "alias")), str(need(params, "name"))
    item_type = params.get("item_type") or "string"
    if not ALIAS.match(alias):
        raise SandboxError(
            400, "The alias may contain only letters, digits and underscores (at most 100).", param="alias"
        )
    if len(name) > 100:
        raise SandboxError(400, "The name can be at most 100 characters.", param="name")
    if item_type not in ITEM_TYPES:
        raise SandboxError(400, f"Invalid item_type: must be one of {', '.join(sorted(ITEM_TYPES))}", param="item_type")
    if any(v["alias"] == alias for v in api.state.all("radar.value_list")):
        raise SandboxError(
            400, f"A value list with the alias '{alias}' already exists.", code="resource_already_exists", param="alias"
        )
    value_list = make(
        "radar.value_list",
        id=new_id("radar.value_list"),
        alias=alias,
        name=name,
        item_type=item_type,
        created=int(time.time()),
        created_by="API",
        metadata=params.get("metadata") or {},
    )
    return _with_items(api, api.state.add(value_list))


@route("GET", "/v1/radar/value_lists/{id}")
def value_list_get(api: Api, params: dict, id: str) -> dict:
    return _with_items(api, api.state.get(id, "radar.value_list"))


@route("GET", "/v1/radar/value_lists")
def value_list_list(api: Api, params: dict) -> list:
    rows = api.state.all("radar.value_list")
    if params.get("alias"):
        rows = [v for v in rows if v["alias"] == params["alias"]]
    if params.get("contains"):
        ids = {i["value_list"] for i in api.state.all("radar.value_list_item") if i["value"] == params["contains"]}
        rows = [v for v in rows if v["id"] in ids]
    return [_with_items(api, v) for v in rows]


@route("POST", "/v1/radar/value_lists/{id}")
def value_list_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"alias", "name", "metadata"})
    value_list = api.state.get(id, "radar.value_list")
    if "alias" in params and not ALIAS.match(str(params["alias"])):
        raise SandboxError(400, "The alias may contain only letters, digits and underscores.", param="alias")
    return _with_items(api, update(api, value_list, params, None))


@route("DELETE", "/v1/radar/value_lists/{id}")
def value_list_delete(api: Api, params: dict, id: str) -> dict:
    value_list = api.state.get(id, "radar.value_list")
    for item in _items_of(api, id):
        api.state.remove(item["id"])
    api.state.remove(value_list["id"])
    return {"id": id, "object": "radar.value_list", "deleted": True}


# --- value list items ----------------------------------------------------------------------------
def _valid(item_type: str, value: str) -> str:
    """The value as Radar keeps it, or a 400 when it is not of the list's type."""
    checks = {
        "email": lambda v: EMAIL.match(v) and v.lower(),
        "country": lambda v: re.fullmatch(r"[A-Za-z]{2}", v) and v.upper(),
        "card_bin": lambda v: re.fullmatch(r"\d{6,8}", v) and v,
        "card_fingerprint": lambda v: re.fullmatch(r"[A-Za-z0-9]{8,64}", v) and v,
        "sepa_debit_fingerprint": lambda v: re.fullmatch(r"[A-Za-z0-9]{8,64}", v) and v,
        "us_bank_account_fingerprint": lambda v: re.fullmatch(r"[A-Za-z0-9]{8,64}", v) and v,
        "customer_id": lambda v: v.startswith("cus_") and v,
        "ip_address": lambda v: _ip(v),
        "string": lambda v: v.lower(),
        "case_sensitive_string": lambda v: v,
    }
    clean = checks[item_type](value.strip())
    if not clean:
        raise SandboxError(400, f"Invalid value for a value list of type {item_type}: '{value}'", param="value")
    return clean


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


@route("POST", "/v1/radar/value_list_items")
def value_list_item_create(api: Api, params: dict) -> dict:
    check(params, {"value", "value_list"})
    value_list = api.state.get(need(params, "value_list"), "radar.value_list", param="value_list")
    raw = str(need(params, "value"))
    if len(raw) > 800:
        raise SandboxError(400, "The value can be at most 800 characters.", param="value")
    value = _valid(value_list["item_type"], raw)
    if any(i["value"] == value for i in _items_of(api, value_list["id"])):
        raise SandboxError(
            400,
            f"The value '{value}' is already in the list {value_list['alias']}.",
            code="resource_already_exists",
            param="value",
        )
    item = make(
        "radar.value_list_item",
        id=new_id("radar.value_list_item"),
        value=value,
        value_list=value_list["id"],
        created=int(time.time()),
        created_by="API",
    )
    return api.state.add(item)


@route("GET", "/v1/radar/value_list_items/{id}")
def value_list_item_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "radar.value_list_item")


@route("GET", "/v1/radar/value_list_items")
def value_list_item_list(api: Api, params: dict) -> list:
    value_list = api.state.get(need(params, "value_list"), "radar.value_list", param="value_list")
    rows = _items_of(api, value_list["id"])
    if params.get("value"):
        rows = [i for i in rows if i["value"] == params["value"]]
    return rows


@route("DELETE", "/v1/radar/value_list_items/{id}")
def value_list_item_delete(api: Api, params: dict, id: str) -> dict:
    api.state.get(id, "radar.value_list_item")
    api.state.remove(id)
    return {"id": id, "object": "radar.value_list_item", "deleted": True}
