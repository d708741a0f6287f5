"""Events (retrieve, list with filters) and webhook endpoints (on this machine only; each has a secret).

Delivering events to the endpoints is the server's work (app.py); here they are only configured.
"""

from __future__ import annotations

import re
import time

from ..core import SandboxError, make, new_id
from ..routing import Api, as_bool, as_int, check, need, route, update


@route("GET", "/v1/events/{id}")
def event_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "event")


@route("GET", "/v1/events")
def event_list(api: Api, params: dict) -> list:
    rows = api.state.all("event")
    if params.get("type"):
        pattern = re.compile("^" + re.escape(params["type"]).replace(r"\*", ".*") + "$")
        rows = [e for e in rows if pattern.match(e["type"])]
    if params.get("types"):
        rows = [e for e in rows if e["type"] in set(params["types"])]
    created = params.get("created")
    if isinstance(created, dict):
        for op, test in (
            ("gte", lambda a, b: a >= b),
            ("gt", lambda a, b: a > b),
            ("lte", lambda a, b: a <= b),
            ("lt", lambda a, b: a < b),
        ):
            if op in created:
                bound = as_int(created[op], f"created[{op}]")
                rows = [e for e in rows if test(e["created"], bound)]
    return rows


@route("POST", "/v1/webhook_endpoints")
def webhook_endpoint_create(api: Api, params: dict) -> dict:
    check(params, {"url", "enabled_events", "api_version", "description", "metadata", "connect"})
    url = str(need(params, "url"))
    if not re.match(r"^https?://", url):
        raise SandboxError(400, "Invalid URL: the URL must start with http:// or https://", param="url")
    host = re.sub(r"^https?://(\[[^\]]+\]|[^/:]+).*$", r"\1", url)
    if host not in ("localhost", "[::1]") and not host.startswith("127."):
        raise SandboxError(
            400, "The sandbox delivers webhooks to this machine only (127.0.0.1, localhost).", param="url"
        )
    events = params.get("enabled_events")
    if not events:
        raise SandboxError(
            400, "Missing required param: enabled_events.", code="parameter_missing", param="enabled_events"
        )
    endpoint = make(
        "webhook_endpoint",
        id=new_id("webhook_endpoint"),
        url=url,
        enabled_events=list(events),
        api_version=params.get("api_version") or api.state.api_version,
        status="enabled",
        description=params.get("description"),
        created=int(time.time()),
        metadata=params.get("metadata") or {},
        application=None,
    )
    secret = "whsec_" + new_id("event")[6:]
    api.state.secrets[endpoint["id"]] = secret
    api.state.add(endpoint)
    return {**endpoint, "secret": secret}


@route("GET", "/v1/webhook_endpoints/{id}")
def webhook_endpoint_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "webhook_endpoint")


@route("POST", "/v1/webhook_endpoints/{id}")
def webhook_endpoint_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"url", "enabled_events", "description", "metadata", "disabled"})
    endpoint = api.state.get(id, "webhook_endpoint")
    if "disabled" in params:
        endpoint["status"] = "disabled" if as_bool(params.pop("disabled")) else "enabled"
    return update(api, endpoint, params, None)


@route("DELETE", "/v1/webhook_endpoints/{id}")
def webhook_endpoint_delete(api: Api, params: dict, id: str) -> dict:
    api.state.get(id, "webhook_endpoint")
    api.state.remove(id)
    api.state.secrets.pop(id, None)
    return {"id": id, "object": "webhook_endpoint", "deleted": True}


@route("GET", "/v1/webhook_endpoints")
def webhook_endpoint_list(api: Api, params: dict) -> list:
    return api.state.all("webhook_endpoint")
