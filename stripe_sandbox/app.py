"""The HTTP server: routing requests to the resources, idempotency, faults, signed webhooks.

Stripe's wire format is in wire.py, the sandbox's own control routes in control.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import re
import time
from collections import deque

from aiohttp import ClientSession, ClientTimeout, web

from . import resources  # noqa: F401  (registers every resource's routes)
from .control import add_control_routes
from .core import SandboxError, State, copy_of, make, new_id
from .routing import ROUTES, Api, list_page, public
from .wire import authenticate, error_response, expand, parse_params

log = logging.getLogger("stripe_sandbox")
_ID = re.compile(r"/[a-z]+_[A-Za-z0-9]+")


class Sandbox:
    """The running sandbox: its state, the Api its handlers get, events and their webhook deliveries, rate limits."""

    def __init__(self, state: State, base_url: str, *, retry_base: float = 1.0, max_attempts: int = 6):
        self.state = state
        self.base_url = base_url
        self.api = Api(state, self.emit, base_url)
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        self.deliveries: asyncio.Queue | None = None
        self.undelivered = 0  # deliveries queued or waiting to be retried, for /_sandbox/health
        self.session: ClientSession | None = None
        self.request_ctx: dict = {"id": None, "idempotency_key": None}
        self.hits: dict[str, deque] = {}
        self.rate_limited_count = 0  # 429s answered since the last reset, for /_sandbox/health

    # --- events -------------------------------------------------------------------------------
    def emit(self, event_type: str, obj: dict, previous: dict | None = None) -> None:
        data = {"object": public(copy_of(obj))}
        if previous is not None and event_type.endswith(".updated"):
            data["previous_attributes"] = public(copy_of(previous))
        endpoints = [
            e
            for e in self.state.all("webhook_endpoint")
            if e["status"] == "enabled" and ("*" in e["enabled_events"] or event_type in e["enabled_events"])
        ]
        event = make(
            "event",
            id=new_id("event"),
            api_version=self.state.api_version,
            created=int(time.time()),
            data=data,
            type=event_type,
            pending_webhooks=len(endpoints),
            request=dict(self.request_ctx),
            account=None,
            context=None,
        )
        self.state.add(event)
        if self.deliveries is not None:
            for endpoint in endpoints:
                self.undelivered += 1
                self.deliveries.put_nowait((endpoint["id"], event["id"], 0, 0.0))

    async def deliver_forever(self) -> None:
        while True:
            endpoint_id, event_id, attempt, not_before = await self.deliveries.get()
            delay = not_before - time.monotonic()
            if delay > 0:
                asyncio.get_running_loop().call_later(
                    delay, self.deliveries.put_nowait, (endpoint_id, event_id, attempt, 0.0)
                )
                continue
            endpoint = self.state.objects.get(endpoint_id)
            event = self.state.objects.get(event_id)
            if endpoint is None or event is None or endpoint["status"] != "enabled":
                self.undelivered -= 1
                continue
            body = json.dumps(event).encode()
            stamp = int(time.time())
            secret = self.state.secrets.get(endpoint_id, "")
            signature = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
            ok = False
            try:
                async with self.session.post(
                    endpoint["url"],
                    data=body,
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "User-Agent": "Stripe/1.0 (+sandbox)",
                        "Stripe-Signature": f"t={stamp},v1={signature}",
                    },
                ) as response:
                    await response.read()
                    ok = 200 <= response.status < 300
            except Exception as error:  # noqa: BLE001 — an unreachable endpoint is retried like a 500
                log.info("webhook %s to %s failed: %s", event_id, endpoint["url"], type(error).__name__)
            if ok:
                event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
                self.undelivered -= 1
            elif attempt + 1 < self.max_attempts:
                wait = self.retry_base * 2**attempt
                self.deliveries.put_nowait((endpoint_id, event_id, attempt + 1, time.monotonic() + wait))
            else:
                self.undelivered -= 1

    # --- faults -------------------------------------------------------------------------------
    def rate_limited(self, method: str, path: str) -> bool:
        if not self.state.faults["rate_limit"]:
            return False
        now = time.monotonic()
        for key, limit in ((f"{method} {_ID.sub('/{id}', path)}", 25), ("*", 100)):
            window = self.hits.setdefault(key, deque())
            while window and now - window[0] > 1.0:
                window.popleft()
            if len(window) >= limit:
                self.rate_limited_count += 1
                return True
        for key in (f"{method} {_ID.sub('/{id}', path)}", "*"):
            self.hits[key].append(now)
        return False


def build(sandbox: Sandbox) -> web.Application:
    state = sandbox.state

    @web.middleware
    async def stripe_middleware(request: web.Request, handler):
        request_id = "req_" + new_id("event")[6:20]
        if request.method == "OPTIONS":
            response = web.Response(status=204)
        else:
            try:
                response = await handler(request)
            except SandboxError as error:
                response = error_response(error, request_id)
            except web.HTTPNotFound:
                response = error_response(
                    SandboxError(
                        404,
                        f"Unrecognized request URL ({request.method}: {request.path}). "
                        "The sandbox does not serve this endpoint.",
                    ),
                    request_id,
                )
            except web.HTTPMethodNotAllowed:
                response = error_response(
                    SandboxError(405, f"Unrecognized request URL ({request.method}: {request.path})."), request_id
                )
            except web.HTTPException:
                raise
            except Exception:
                log.exception("sandbox error on %s %s", request.method, request.path)
                response = error_response(
                    SandboxError(500, "An unexpected error occurred in the sandbox.", type="api_error"), request_id
                )
        origin = request.headers.get("Origin")
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Stripe-Version"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
        response.headers.setdefault("Request-Id", request_id)
        return response

    def make_handler(method: str, func):
        async def handle(request: web.Request) -> web.Response:
            faults = state.faults
            if faults["latency_ms"]:
                await asyncio.sleep(faults["latency_ms"] / 1000)
            if sandbox.rate_limited(method, request.path):
                raise SandboxError(
                    429,
                    "Request rate limit exceeded. Learn more about rate limits here "
                    "https://stripe.com/docs/rate-limits.",
                    code="rate_limit",
                )
            if faults["timeout_rate"] and random.random() < faults["timeout_rate"]:
                request.transport.close()  # the client sees its connection drop, as on a timeout
                raise web.HTTPServiceUnavailable()
            if faults["error_rate"] and random.random() < faults["error_rate"]:
                raise SandboxError(500, "An unknown error occurred (injected by the sandbox).", type="api_error")
            key = authenticate(request, func)
            body = await request.read()
            params = parse_params(request, body)
            params.pop("key", None)
            expand_paths = params.pop("expand", None) or []
            if isinstance(expand_paths, str):
                expand_paths = [expand_paths]
            idem = request.headers.get("Idempotency-Key") if method == "POST" else None
            fingerprint = hashlib.sha256(
                f"{method} {request.path} {json.dumps(params, sort_keys=True)} {key}".encode()
            ).hexdigest()
            if idem and idem in state.idempotency:
                stored_fingerprint, status, payload = state.idempotency[idem]
                if stored_fingerprint != fingerprint:
                    raise SandboxError(
                        400,
                        f"Keys for idempotent requests can only be used with the same "
                        f"parameters they were first used with. Try using a key other than "
                        f"'{idem}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                return web.json_response(payload, status=status, headers={"Idempotent-Replayed": "true"})
            sandbox.request_ctx = {
                "id": request.headers.get("Request-Id") or "req_" + new_id("event")[6:20],
                "idempotency_key": idem,
            }
            try:
                with state.lock:
                    result = func(sandbox.api, params, **request.match_info)
                    if isinstance(result, list):
                        result = list_page(result, params, request.path)
                    payload = expand(state, public(copy_of(result)), expand_paths)
                status = 200
            except SandboxError as error:
                payload, status = error.body(), error.status
            finally:
                sandbox.request_ctx = {"id": None, "idempotency_key": None}
            if idem and status != 500:
                state.idempotency[idem] = (fingerprint, status, payload)
            return web.json_response(payload, status=status)

        return handle

    app = web.Application(middlewares=[stripe_middleware], client_max_size=4 * 1024 * 1024)
    static_first = sorted(ROUTES, key=lambda r: (r[1].count("{"), -len(r[1])))
    for method, path, func in static_first:
        app.router.add_route(method, path, make_handler(method, func))
    add_control_routes(app, sandbox)
    _localstripe_routes(app)
    return app


# Resources the portal does not build on, served by localstripe's own implementation (its shapes
# are older than dahlia's, its state is in memory): coupons, plans, balance, payouts, tokens, sources.
LOCALSTRIPE_PREFIXES = (
    "/v1/coupons",
    "/v1/plans",
    "/v1/balance",
    "/v1/payouts",
    "/v1/tokens",
    "/v1/sources",
    "/v1/customers/{id}/sources",
)


def _localstripe_routes(app: web.Application) -> None:
    from localstripe.errors import UserError
    from localstripe.server import app as localstripe_app

    ours = {(r.method, r.resource.canonical) for r in app.router.routes()}

    def wrap(handler):
        async def handle(request: web.Request) -> web.StreamResponse:
            authenticate(request, None)
            try:
                result = handler(request)
                return await result if asyncio.iscoroutine(result) else result
            except UserError as error:
                return error.to_response()

        return handle

    for route_ in localstripe_app.router.routes():
        key = (route_.method, route_.resource.canonical)
        if key in ours or not key[1].startswith(LOCALSTRIPE_PREFIXES):
            continue
        app.router.add_route(route_.method, key[1], wrap(route_.handler))
        ours.add(key)


async def serve(state: State, host: str, port: int, *, retry_base: float, max_attempts: int, workers: int = 4) -> None:
    sandbox = Sandbox(state, f"http://{host}:{port}", retry_base=retry_base, max_attempts=max_attempts)
    sandbox.deliveries = asyncio.Queue()
    sandbox.session = ClientSession(timeout=ClientTimeout(total=10))
    app = build(sandbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    tasks = [asyncio.create_task(sandbox.deliver_forever()) for _ in range(workers)]

    async def flush():
        while True:
            await asyncio.sleep(2)
            if state.dirty:
                with state.lock:
                    state.save()

    tasks.append(asyncio.create_task(flush()))
    print(f"stripe_sandbox listening on http://{host}:{port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for task in tasks:
            task.cancel()
        await sandbox.session.close()
        await runner.cleanup()
        state.save()
