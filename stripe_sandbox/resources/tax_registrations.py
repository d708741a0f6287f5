"""Stripe Tax registrations (`/v1/tax/registrations`): where the account collects tax. The sandbox's
`automatic_tax` emulation (engine.tax) charges tax only in the jurisdictions registered here."""

from __future__ import annotations

from ..core import SandboxError, make, new_id
from ..engine.tax import RATES, registration_place
from ..routing import Api, as_int, check, need, route

# Stripe's country_options types, per kind of country (a subset: what the portal sends).
TYPES = {"US": {"state_sales_tax"}, "CA": {"standard", "province_standard", "simplified"}}
EU_TYPES = {"standard", "oss_union", "oss_non_union", "ioss"}


def _when(value, param: str, now: int) -> int | None:
    if value in (None, ""):
        return None
    if value == "now":
        return now
    return as_int(value, param)


def _status(reg: dict, now: int) -> str:
    if reg.get("expires_at") is not None and reg["expires_at"] <= now:
        return "expired"
    return "scheduled" if reg["active_from"] > now else "active"


def _fresh(reg: dict, now: int) -> dict:
    reg["status"] = _status(reg, now)
    return reg


@route("POST", "/v1/tax/registrations")
def registration_create(api: Api, params: dict) -> dict:
    check(params, {"country", "country_options", "active_from", "expires_at"})
    now = api.state.now()
    country = str(need(params, "country")).upper()
    options = (params.get("country_options") or {}).get(country.lower())
    if not options or not options.get("type"):
        raise SandboxError(
            400, f"Missing required param: country_options[{country.lower()}][type].", param="country_options"
        )
    kind = options["type"]
    allowed = TYPES.get(country) or (EU_TYPES if country in RATES and RATES[country][0] == "vat" else {"standard"})
    if country not in RATES and country not in ("US", "CA"):
        raise SandboxError(400, f"Tax registrations are not supported in {country} by this sandbox.", param="country")
    if kind not in allowed:
        raise SandboxError(
            400, f"Invalid type for {country}: {kind}.", param=f"country_options[{country.lower()}][type]"
        )
    if country == "US" and not options.get("state"):
        raise SandboxError(
            400, "Missing required param: country_options[us][state].", param="country_options[us][state]"
        )
    active_from = _when(need(params, "active_from"), "active_from", now)
    expires_at = _when(params.get("expires_at"), "expires_at", now)
    if expires_at is not None and expires_at <= active_from:
        raise SandboxError(400, "expires_at must be after active_from.", param="expires_at")
    reg = make(
        "tax.registration",
        id=new_id("tax.registration"),
        country=country,
        country_options={country.lower(): {k: v for k, v in options.items()}},
        active_from=active_from,
        expires_at=expires_at,
        created=now,
        livemode=False,
    )
    place = registration_place(reg)
    for other in api.state.all("tax.registration"):
        if registration_place(other)[:2] != place[:2] or _status(other, now) == "expired":
            continue
        other_end = other.get("expires_at")
        if (other_end is None or active_from < other_end) and (expires_at is None or other["active_from"] < expires_at):
            raise SandboxError(
                400,
                f"A registration for {place[0]}{'-' + place[1] if place[1] else ''} already covers this period "
                f"({other['id']}).",
                code="tax_registration_overlap",
                param="active_from",
            )
    reg["_from_now"] = params["active_from"] == "now"
    api.state.add(_fresh(reg, now))
    return reg


@route("GET", "/v1/tax/registrations/{id}")
def registration_get(api: Api, params: dict, id: str) -> dict:
    return _fresh(api.state.get(id, "tax.registration"), api.state.now())


@route("POST", "/v1/tax/registrations/{id}")
def registration_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"active_from", "expires_at"})
    reg = api.state.get(id, "tax.registration")
    now = api.state.now()
    if "expires_at" in params:
        expires_at = _when(params["expires_at"], "expires_at", now)
        if expires_at is not None and expires_at < reg["active_from"]:
            raise SandboxError(400, "expires_at must not be before active_from.", param="expires_at")
        reg["expires_at"] = expires_at
        reg["_ended_now"] = params["expires_at"] == "now"
    if "active_from" in params:
        reg["active_from"] = _when(params["active_from"], "active_from", now)
    return _fresh(reg, now)


@route("GET", "/v1/tax/registrations")
def registration_list(api: Api, params: dict) -> list:
    now = api.state.now()
    rows = [_fresh(r, now) for r in api.state.all("tax.registration")]
    if params.get("status") and params["status"] != "all":
        rows = [r for r in rows if r["status"] == params["status"]]
    return rows
