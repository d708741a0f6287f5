"""Test clocks: create, retrieve, list, delete, and advance (which moves every subscription of the
clock's customers forward, retries their failed invoices and settles their bank debits, in time order)."""

from __future__ import annotations

import time

from ..core import SandboxError, make, new_id
from ..engine.lifecycle import advance_clock
from ..routing import Api, as_int, check, need, route


@route("POST", "/v1/test_helpers/test_clocks")
def clock_create(api: Api, params: dict) -> dict:
    check(params, {"frozen_time", "name"})
    frozen = as_int(need(params, "frozen_time"), "frozen_time")
    clock = make(
        "test_helpers.test_clock",
        id=new_id("test_helpers.test_clock"),
        created=int(time.time()),
        deletes_after=int(time.time()) + 30 * 86400,
        frozen_time=frozen,
        name=params.get("name"),
        status="ready",
        status_details={},
    )
    api.state.add(clock)
    api.emit("test_helpers.test_clock.created", clock)
    return clock


@route("GET", "/v1/test_helpers/test_clocks/{id}")
def clock_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "test_helpers.test_clock")


@route("GET", "/v1/test_helpers/test_clocks")
def clock_list(api: Api, params: dict) -> list:
    return api.state.all("test_helpers.test_clock")


@route("DELETE", "/v1/test_helpers/test_clocks/{id}")
def clock_delete(api: Api, params: dict, id: str) -> dict:
    clock = api.state.get(id, "test_helpers.test_clock")
    api.state.remove(id)
    api.emit("test_helpers.test_clock.deleted", {**clock, "deleted": True})
    return {"id": id, "object": "test_helpers.test_clock", "deleted": True}


@route("POST", "/v1/test_helpers/test_clocks/{id}/advance")
def clock_advance(api: Api, params: dict, id: str) -> dict:
    check(params, {"frozen_time"})
    clock = api.state.get(id, "test_helpers.test_clock")
    to = as_int(need(params, "frozen_time"), "frozen_time")
    if to <= clock["frozen_time"]:
        raise SandboxError(
            400, "The frozen_time must be after the test clock's current frozen_time.", param="frozen_time"
        )
    if to > clock["frozen_time"] + 2 * 366 * 86400:
        raise SandboxError(
            400,
            "A test clock can advance at most two intervals of the longest price at once "
            "(the sandbox allows two years).",
            param="frozen_time",
        )
    clock["status"] = "advancing"
    api.emit("test_helpers.test_clock.advancing", clock)
    advance_clock(api, clock, to)
    clock.update(frozen_time=to, status="ready")
    api.emit("test_helpers.test_clock.ready", clock)
    return clock
