"""The route table and the helpers every resource shares: parameters, updates, pages, client views.

A resource module registers its handlers with `@route(method, path)`; a handler takes
`(api, params, **path_params)` and returns an object, or a list that the server pages as Stripe does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .core import SandboxError, State, copy_of, missing

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


class Api:
    """What a handler works with: the state, `emit` (sends an event and schedules its webhooks), the base URL."""

    def __init__(self, state: State, emit: Callable[[str, dict, dict | None], None], base_url: str):
        self.state = state
        self.emit = emit
        self.base_url = base_url


# --- parameters ---------------------------------------------------------------------------------
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


def blank_address(**given) -> dict:
    return {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None, **given}


# --- objects ------------------------------------------------------------------------------------
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


def get_or_404(api: Api, object_id: str, object_type: str) -> dict:
    obj = api.state.objects.get(object_id)
    if obj is None or obj["object"] != object_type:
        raise missing(object_type, object_id)
    return obj


def public(obj: dict) -> dict:
    """An object as returned to clients: without the sandbox's private `_` keys."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj


def copy_public(obj: dict) -> dict:
    return public(copy_of(obj))


# --- lists --------------------------------------------------------------------------------------
def list_object(data: list, url: str) -> dict:
    return {"object": "list", "data": data, "has_more": False, "url": url}


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
