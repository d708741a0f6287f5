"""Stripe Tax settings (`/v1/tax/settings`): the head office and the defaults (tax code, tax behaviour)
that the `automatic_tax` emulation (engine.tax) reads."""

from __future__ import annotations

import re

from ..core import SandboxError
from ..engine.tax import tax_settings
from ..routing import Api, check, route

BEHAVIOURS = ("inclusive", "exclusive", "inferred_by_currency")


def _public(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k != "id"}  # Stripe's tax.settings has no id


@route("GET", "/v1/tax/settings")
def tax_settings_get(api: Api, params: dict) -> dict:
    return _public(tax_settings(api))


@route("POST", "/v1/tax/settings")
def tax_settings_update(api: Api, params: dict) -> dict:
    check(params, {"defaults", "head_office"})
    settings = tax_settings(api)
    defaults = params.get("defaults") or {}
    check(defaults, {"tax_behavior", "tax_code"})
    if "tax_behavior" in defaults:
        if defaults["tax_behavior"] not in BEHAVIOURS:
            raise SandboxError(400, f"Invalid tax_behavior: {defaults['tax_behavior']}", param="defaults[tax_behavior]")
        settings["defaults"]["tax_behavior"] = defaults["tax_behavior"]
    if "tax_code" in defaults:
        if not re.fullmatch(r"txcd_\d{8}", str(defaults["tax_code"])):
            raise SandboxError(400, f"No such tax code: {defaults['tax_code']}", param="defaults[tax_code]")
        settings["defaults"]["tax_code"] = defaults["tax_code"]
    address = (params.get("head_office") or {}).get("address")
    if address is not None:
        if not address.get("country"):
            raise SandboxError(400, "Missing required param: head_office[address][country].", param="head_office")
        settings["head_office"] = {
            "address": {k: address.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")}
        }
    settings["status"] = "active" if settings["head_office"] else "pending"
    settings["status_details"] = (
        {"active": {}} if settings["head_office"] else {"pending": {"missing_fields": ["head_office"]}}
    )
    api.state.dirty = True
    api.emit("tax.settings.updated", _public(settings))
    return _public(settings)
