"""Subscription schedules: create from a subscription, update phases, release, cancel, retrieve, list.

A phase that starts later is entered as a test clock crosses its start (engine/lifecycle). The
sandbox schedules existing subscriptions (`from_subscription`) only, and its current phase must
stay as the subscription is: changes apply from a later phase (Stripe also allows changing the
current phase, with prorations).
"""

from __future__ import annotations

from ..core import SandboxError, copy_of
from ..engine.lifecycle import cancel_subscription
from ..engine.periods import current_period
from ..engine.schedules import LIVE, live_schedule, new_schedule, release, schedule_phase
from ..routing import Api, check, route, update

SCHEDULE_FIELDS = {
    "from_subscription",
    "customer",
    "phases",
    "end_behavior",
    "metadata",
    "start_date",
    "default_settings",
}


@route("POST", "/v1/subscription_schedules")
def schedule_create(api: Api, params: dict) -> dict:
    check(params, SCHEDULE_FIELDS | {"billing_mode"})
    if not params.get("from_subscription"):
        raise SandboxError(
            400,
            "The sandbox creates schedules from existing subscriptions only: pass from_subscription.",
            param="from_subscription",
        )
    if set(params) & {"phases", "customer", "start_date", "end_behavior"}:
        raise SandboxError(
            400,
            "You cannot set phases, customer, start_date or end_behavior together with from_subscription; "
            "update the schedule afterwards.",
            param="from_subscription",
        )
    sub = api.state.get(params["from_subscription"], "subscription", param="from_subscription")
    if sub["status"] in ("canceled", "incomplete_expired", "incomplete"):
        raise SandboxError(
            400, f"The subscription is {sub['status']}: it cannot be scheduled.", param="from_subscription"
        )
    if live_schedule(api, sub):
        raise SandboxError(
            400,
            f"You cannot migrate a subscription that is already attached to a schedule: `{sub['schedule']}`.",
            param="from_subscription",
        )
    if sub.get("cancel_at_period_end"):
        raise SandboxError(
            400,
            "The subscription is set to cancel at the end of its period; resume it before scheduling changes.",
            param="from_subscription",
        )
    schedule = new_schedule(sub, created=api.state.now(sub["customer"]))
    schedule["metadata"] = params.get("metadata") or {}
    api.state.add(schedule)
    sub["schedule"] = schedule["id"]
    api.emit("subscription_schedule.created", schedule)
    api.emit("customer.subscription.updated", sub, {"schedule": None})
    return schedule


@route("GET", "/v1/subscription_schedules/{id}")
def schedule_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "subscription_schedule")


@route("GET", "/v1/subscription_schedules")
def schedule_list(api: Api, params: dict) -> list:
    rows = api.state.all("subscription_schedule")
    for key in ("customer", "subscription"):
        if params.get(key):
            rows = [s for s in rows if s.get(key) == params[key]]
    return rows


@route("POST", "/v1/subscription_schedules/{id}")
def schedule_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"phases", "end_behavior", "metadata", "proration_behavior", "default_settings"})
    schedule = api.state.get(id, "subscription_schedule")
    if schedule["status"] not in LIVE:
        raise SandboxError(
            400, f"You cannot update a subscription schedule that is {schedule['status']}.", code="resource_missing"
        )
    sub = api.state.get(schedule["subscription"], "subscription")
    if params.get("end_behavior") not in (None, "release", "cancel"):
        raise SandboxError(400, "end_behavior must be release or cancel.", param="end_behavior")
    previous: dict = {}
    if params.get("phases"):
        phases = _phases(api, params, schedule, sub)
        previous["phases"] = copy_of(schedule["phases"])
        schedule["phases"] = phases
        schedule["current_phase"] = {"start_date": phases[0]["start_date"], "end_date": phases[0]["end_date"]}
    if params.get("end_behavior"):
        previous["end_behavior"] = schedule["end_behavior"]
        schedule["end_behavior"] = params["end_behavior"]
    if "metadata" in params:
        update(api, schedule, {"metadata": params["metadata"]}, None)
    if previous:
        api.emit("subscription_schedule.updated", schedule, previous)
    return schedule


def _phases(api: Api, params: dict, schedule: dict, sub: dict) -> list[dict]:
    specs = params["phases"]
    if not isinstance(specs, list):
        raise SandboxError(400, "phases must be a list.", param="phases")
    start, end = current_period(sub)
    first = specs[0]
    first_start = first.get("start_date")
    if first_start not in (None, "") and int(first_start) != schedule["phases"][0]["start_date"]:
        raise SandboxError(
            400, "You can not modify the start date of the current phase.", param="phases[0][start_date]"
        )
    behaviour = params.get("proration_behavior") or "create_prorations"
    phases, at = [], schedule["phases"][0]["start_date"]
    for index, spec in enumerate(specs):
        if index and spec.get("start_date") not in (None, "") and int(spec["start_date"]) != at:
            raise SandboxError(
                400, "A phase must start when the one before it ends.", param=f"phases[{index}][start_date]"
            )
        phase = schedule_phase(api, spec, currency=sub["currency"], start=at, index=index, default_proration=behaviour)
        phases.append(phase)
        at = phase["end_date"]
    current = [(i["price"]["id"], i["quantity"]) for i in sub["items"]["data"]]
    if [(i["price"], i["quantity"]) for i in phases[0]["items"]] != current or phases[0]["end_date"] != end:
        raise SandboxError(
            400,
            "The sandbox keeps the current phase as the subscription is (its items, until the period ends "
            f"at {end}); put changes in a later phase.",
            param="phases[0]",
        )
    return phases


@route("POST", "/v1/subscription_schedules/{id}/release")
def schedule_release(api: Api, params: dict, id: str) -> dict:
    check(params, {"preserve_cancel_date"})
    schedule = api.state.get(id, "subscription_schedule")
    if schedule["status"] not in LIVE:
        raise SandboxError(
            400, f"You cannot release a subscription schedule that is {schedule['status']}.", code="resource_missing"
        )
    sub = api.state.objects.get(schedule["subscription"] or "")
    release(api, schedule, sub, api.state.now(schedule["customer"]))
    return schedule


@route("POST", "/v1/subscription_schedules/{id}/cancel")
def schedule_cancel(api: Api, params: dict, id: str) -> dict:
    check(params, {"invoice_now", "prorate"})
    schedule = api.state.get(id, "subscription_schedule")
    if schedule["status"] not in LIVE:
        raise SandboxError(
            400, f"You cannot cancel a subscription schedule that is {schedule['status']}.", code="resource_missing"
        )
    now = api.state.now(schedule["customer"])
    previous = {"status": schedule["status"]}
    schedule.update(status="canceled", canceled_at=now, current_phase=None)
    sub = api.state.objects.get(schedule["subscription"] or "")
    if sub is not None and sub["status"] != "canceled":
        cancel_subscription(api, sub, None)
    api.emit("subscription_schedule.canceled", schedule, previous)
    return schedule
