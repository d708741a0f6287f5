"""Tax rates."""

from __future__ import annotations

import time

from ..core import SandboxError, make, new_id
from ..routing import Api, as_bool, check, need, route, update


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
