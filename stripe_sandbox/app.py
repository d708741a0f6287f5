"""The HTTP server: Stripe's wire format, auth, idempotency, faults, signed webhooks, control routes."""

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
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, web
from localstripe.server import unflatten_data  # localstripe's parser of Stripe's form encoding

from . import subscriptions  # noqa: F401  (registers its routes)
from .api import PUBLISHABLE_OK, ROUTES, Api, list_page
from .billing import public
from .core import SandboxError, State, copy_of, make, new_id

log = logging.getLogger("stripe_sandbox")
STATIC = Path(__file__).parent / "static"
_ID = re.compile(r"/[a-z]+_[A-Za-z0-9]+")


class Sandbox:
    def __init__(self, state: State, base_url: str, *, retry_base: float = 1.0, max_attempts: int = 6):
        self.state = state
        self.base_url = base_url
        self.api = Api(state, self.emit, base_url)
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        self.deliveries: asyncio.Queue | None = None
        self.session: ClientSession | None = None
        self.request_ctx: dict = {"id": None, "idempotency_key": None}
        self.hits: dict[str, deque] = {}

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
            elif attempt + 1 < self.max_attempts:
                wait = self.retry_base * 2**attempt
                self.deliveries.put_nowait((endpoint_id, event_id, attempt + 1, time.monotonic() + wait))

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
                return True
        for key in (f"{method} {_ID.sub('/{id}', path)}", "*"):
            self.hits[key].append(now)
        return False


def _error(error: SandboxError, request_id: str) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers={"Request-Id": request_id})


def _params(request: web.Request, body: bytes) -> dict:
    if request.method == "GET" or request.method == "DELETE":
        return unflatten_data(request.query) if request.query else {}
    if not body:
        return {}
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("application/json"):
        try:
            return json.loads(body)
        except ValueError:
            raise SandboxError(400, "Invalid JSON body.") from None
    from urllib.parse import parse_qsl

    from multidict import MultiDict

    return unflatten_data(MultiDict(parse_qsl(body.decode(), keep_blank_values=True)))


def expand(state: State, obj, paths: list[str]):
    """Replace ids with objects along each `a.b.c` path (`data.` walks a list's items)."""
    for path in paths:
        obj = _expand_path(state, obj, path.split("."))
    return obj


def _expand_path(state: State, value, parts: list[str]):
    if not parts:
        return value
    if isinstance(value, list):
        return [_expand_path(state, v, parts) for v in value]
    if not isinstance(value, dict):
        return value
    head, rest = parts[0], parts[1:]
    if head not in value:
        return value
    target = value[head]
    if isinstance(target, str) and target in state.objects:
        target = public(copy_of(state.objects[target]))
    value = dict(value)
    value[head] = _expand_path(state, target, rest)
    return value


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
                response = _error(error, request_id)
            except web.HTTPNotFound:
                response = _error(
                    SandboxError(
                        404,
                        f"Unrecognized request URL ({request.method}: {request.path}). "
                        "The sandbox does not serve this endpoint.",
                    ),
                    request_id,
                )
            except web.HTTPMethodNotAllowed:
                response = _error(
                    SandboxError(405, f"Unrecognized request URL ({request.method}: {request.path})."), request_id
                )
            except web.HTTPException:
                raise
            except Exception:
                log.exception("sandbox error on %s %s", request.method, request.path)
                response = _error(
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
            key = _authenticate(request, func)
            body = await request.read()
            params = _params(request, body)
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
    _control_routes(app, sandbox)
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
            _authenticate(request, None)
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


def _authenticate(request: web.Request, func) -> str:
    header = request.headers.get("Authorization", "")
    key = header[7:] if header.startswith("Bearer ") else ""
    if header.startswith("Basic "):
        import base64

        key = base64.b64decode(header[6:]).decode(errors="replace").split(":")[0]
    if not key and request.method == "POST":
        key = request.query.get("key", "")
    if key.startswith(("sk_test_", "rk_test_")):
        return key
    if key.startswith("pk_test_") and func in PUBLISHABLE_OK:
        return key
    if key.startswith(("sk_live_", "rk_live_", "pk_live_")):
        raise SandboxError(401, "The sandbox only accepts test-mode keys (sk_test_…).", type="invalid_request_error")
    raise SandboxError(
        401, "You did not provide an API key. Use `Authorization: Bearer sk_test_…`.", type="invalid_request_error"
    )


def _control_routes(app: web.Application, sandbox: Sandbox) -> None:
    state = sandbox.state

    async def health(request):
        return web.json_response(
            {
                "status": "ok",
                "api_version": state.api_version,
                "objects": len(state.objects),
                "events": len(state.order.get("event", [])),
            }
        )

    async def reset(request):
        from localstripe.resources import store as localstripe_store

        with state.lock:
            state.reset()
            localstripe_store.clear()
        return web.json_response({"reset": True})

    async def faults(request):
        if request.method == "POST":
            try:
                changes = await request.json()
            except ValueError:
                return web.json_response({"error": {"message": "Send a JSON object"}}, status=400)
            unknown = set(changes) - set(state.faults)
            if unknown:
                return web.json_response({"error": {"message": f"Unknown fault(s): {sorted(unknown)}"}}, status=400)
            state.faults.update({k: type(state.faults[k])(v) for k, v in changes.items()})
            sandbox.hits.clear()
        return web.json_response(state.faults)

    async def dispute(request):
        with state.lock:
            try:
                charge = state.get(request.match_info["id"], "charge")
            except SandboxError as error:
                return _error(error, "req_control")
            body = await _json(request)
            result = subscriptions.open_dispute(sandbox.api, charge, body.get("reason") or "fraudulent")
        return web.json_response(public(copy_of(result)))

    async def review(request):
        with state.lock:
            try:
                charge = state.get(request.match_info["id"], "charge")
            except SandboxError as error:
                return _error(error, "req_control")
            result = subscriptions.open_review(sandbox.api, charge)
        return web.json_response(public(copy_of(result)))

    async def early_fraud_warning(request):
        with state.lock:
            try:
                charge = state.get(request.match_info["id"], "charge")
            except SandboxError as error:
                return _error(error, "req_control")
            warning = make(
                "radar.early_fraud_warning",
                id=new_id("radar.early_fraud_warning"),
                actionable=True,
                charge=charge["id"],
                payment_intent=charge["payment_intent"],
                created=int(time.time()),
                fraud_type="made_with_stolen_card",
            )
            state.add(warning)
            sandbox.emit("radar.early_fraud_warning.created", warning)
        return web.json_response(warning)

    async def invoice_page(request):
        invoice = state.objects.get(request.match_info["id"])
        if not invoice or invoice["object"] != "invoice":
            raise web.HTTPNotFound()
        rows = "".join(
            f"<tr><td>{line['description']}</td><td style='text-align:right'>{line['amount']}</td></tr>"
            for line in invoice["lines"]["data"]
        )
        html = (
            f"<!doctype html><meta charset=utf-8><title>Invoice {invoice['number']}</title>"
            f"<body style='font-family:sans-serif;max-width:640px;margin:2rem auto'>"
            f"<h1>Invoice {invoice['number'] or invoice['id']}</h1><p>Status: {invoice['status']} · "
            f"{invoice['currency'].upper()} {invoice['amount_due']} (minor units)</p>"
            f"<table style='width:100%'>{rows}</table><p><a href='{invoice['id']}/pdf'>PDF</a></p>"
            f"<p style='color:#888'>Stripe sandbox — not a real invoice.</p></body>"
        )
        return web.Response(text=html, content_type="text/html")

    async def invoice_pdf(request):
        invoice = state.objects.get(request.match_info["id"])
        if not invoice or invoice["object"] != "invoice":
            raise web.HTTPNotFound()
        return web.Response(
            body=_pdf(
                f"Invoice {invoice['number'] or invoice['id']} - "
                f"{invoice['currency'].upper()} {invoice['amount_due']} - {invoice['status']}"
            ),
            content_type="application/pdf",
        )

    async def stripe_js(request):
        return web.Response(
            body=(STATIC / "stripe.js").read_bytes(),
            content_type="application/javascript",
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
        )

    app.router.add_get("/_sandbox/health", health)
    app.router.add_post("/_sandbox/reset", reset)
    app.router.add_route("*", "/_sandbox/faults", faults)
    app.router.add_post("/_sandbox/charges/{id}/dispute", dispute)
    app.router.add_post("/_sandbox/charges/{id}/review", review)
    app.router.add_post("/_sandbox/charges/{id}/early_fraud_warning", early_fraud_warning)
    app.router.add_get("/_sandbox/invoices/{id}", invoice_page)
    app.router.add_get("/_sandbox/invoices/{id}/pdf", invoice_pdf)
    app.router.add_get("/v3/stripe.js", stripe_js)
    app.router.add_get("/v3/", stripe_js)


async def _json(request) -> dict:
    try:
        return await request.json() if await request.read() else {}
    except ValueError:
        return {}


def _pdf(text: str) -> bytes:
    """A one-page PDF with one line of text: enough for a browser or a PDF reader."""
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 72 720 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


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
