"""Billing meters, meter events (deduplicated by `identifier`) and event summaries."""

from __future__ import annotations

import time

from ..core import SandboxError, make, new_id
from ..engine.invoicing import usage
from ..routing import Api, as_int, check, need, route


@route("POST", "/v1/billing/meters")
def meter_create(api: Api, params: dict) -> dict:
    check(
        params,
        {
            "display_name",
            "event_name",
            "default_aggregation",
            "customer_mapping",
            "value_settings",
            "event_time_window",
        },
    )
    event_name = str(need(params, "event_name"))
    if any(m["event_name"] == event_name for m in api.state.all("billing.meter")):
        raise SandboxError(400, f"A meter with event_name {event_name} already exists.", param="event_name")
    formula = (params.get("default_aggregation") or {}).get("formula") or "sum"
    if formula not in ("sum", "count", "last"):
        raise SandboxError(
            400, "default_aggregation[formula] must be sum, count or last", param="default_aggregation[formula]"
        )
    now = int(time.time())
    meter = make(
        "billing.meter",
        id=new_id("billing.meter"),
        created=now,
        updated=now,
        display_name=need(params, "display_name"),
        event_name=event_name,
        status="active",
        default_aggregation={"formula": formula},
        customer_mapping={"event_payload_key": "stripe_customer_id", "type": "by_id"},
        value_settings={"event_payload_key": "value"},
        event_time_window=None,
        status_transitions={"deactivated_at": None},
    )
    api.state.add(meter)
    return meter


@route("GET", "/v1/billing/meters/{id}")
def meter_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "billing.meter")


@route("GET", "/v1/billing/meters")
def meter_list(api: Api, params: dict) -> list:
    rows = api.state.all("billing.meter")
    return [m for m in rows if not params.get("status") or m["status"] == params["status"]]


@route("POST", "/v1/billing/meters/{id}/deactivate")
def meter_deactivate(api: Api, params: dict, id: str) -> dict:
    meter = api.state.get(id, "billing.meter")
    meter.update(status="inactive", status_transitions={"deactivated_at": int(time.time())})
    return meter


@route("POST", "/v1/billing/meter_events")
def meter_event_create(api: Api, params: dict) -> dict:
    check(params, {"event_name", "payload", "identifier", "timestamp"})
    name = str(need(params, "event_name"))
    meter = next((m for m in api.state.all("billing.meter") if m["event_name"] == name), None)
    if meter is None or meter["status"] != "active":
        raise SandboxError(400, f"No active meter for event_name {name}.", param="event_name")
    payload = need(params, "payload")
    customer = payload.get("stripe_customer_id")
    api.state.get(customer or "", "customer", param="payload[stripe_customer_id]")
    try:
        int(payload.get("value", 1))
    except (TypeError, ValueError):
        raise SandboxError(400, "payload[value] must be a whole number.", param="payload[value]") from None
    identifier = params.get("identifier") or new_id("billing.meter_event")
    for existing in api.state.all("billing.meter_event"):
        if existing["identifier"] == identifier:
            raise SandboxError(
                400,
                f"An event with identifier {identifier} already exists.",
                code="resource_already_exists",
                param="identifier",
            )
    event = make(
        "billing.meter_event",
        id=new_id("billing.meter_event"),
        event_name=name,
        identifier=identifier,
        payload={k: str(v) for k, v in payload.items()},
        created=int(time.time()),
        timestamp=as_int(params.get("timestamp"), "timestamp", api.state.now(customer)),
    )
    api.state.add(event)
    return event


@route("POST", "/v1/billing/meter_event_adjustments")
def meter_event_adjustment_create(api: Api, params: dict) -> dict:
    """Cancel a meter event by its identifier: it no longer counts toward usage."""
    check(params, {"event_name", "type", "cancel"})
    name = str(need(params, "event_name"))
    if (params.get("type") or "cancel") != "cancel":
        raise SandboxError(400, "type must be cancel.", param="type")
    identifier = (params.get("cancel") or {}).get("identifier")
    if not identifier:
        raise SandboxError(
            400, "Missing required param: cancel[identifier].", code="parameter_missing", param="cancel[identifier]"
        )
    event = next(
        (e for e in api.state.all("billing.meter_event") if e["identifier"] == identifier and e["event_name"] == name),
        None,
    )
    if event is None:
        raise SandboxError(400, f"No meter event with identifier {identifier}.", param="cancel[identifier]")
    event["_cancelled"] = True
    return make(
        "billing.meter_event_adjustment",
        event_name=name,
        type="cancel",
        cancel={"identifier": identifier},
        status="complete",
    )


@route("GET", "/v1/billing/meters/{id}/event_summaries")
def meter_event_summaries(api: Api, params: dict, id: str) -> list:
    meter = api.state.get(id, "billing.meter")
    customer = need(params, "customer")
    start = as_int(need(params, "start_time"), "start_time")
    end = as_int(need(params, "end_time"), "end_time")
    value = usage(api, customer, meter["id"], start, end)
    return [
        make(
            "billing.meter_event_summary",
            id=f"mtrusg_{meter['id'][4:]}_{start}",
            aggregated_value=value,
            start_time=start,
            end_time=end,
            meter=meter["id"],
        )
    ]
