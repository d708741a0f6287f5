"""The sandbox's own routes beside Stripe's: health, reset, faults, disputes/reviews/early fraud
warnings on demand and a dispute's resolution (won or lost), bulk fixtures (many past-due invoices
at once, for load tests), the hosted invoice page and PDF (behind each invoice's secret token), and
the Stripe.js stand-in."""

from __future__ import annotations

import hmac
from pathlib import Path

from aiohttp import web

from .core import SandboxError, copy_of
from .engine.invoicing import DOCUMENT_TOKEN
from .engine.risk import open_dispute, open_early_fraud_warning, open_review, resolve_dispute
from .fixtures import past_due_invoices
from .resources.customers import set_verification
from .routing import public
from .wire import error_response

STATIC = Path(__file__).parent / "static"


def add_control_routes(app: web.Application, sandbox) -> None:
    """Add the control routes of `sandbox` (app.Sandbox: its state, API, emit and rate-limit windows)."""
    state = sandbox.state

    async def health(request):
        return web.json_response(
            {
                "status": "ok",
                "api_version": state.api_version,
                "objects": len(state.objects),
                "events": len(state.order.get("event", [])),
                # Webhook deliveries still to make (including retries waiting for their time).
                "deliveries_pending": sandbox.undelivered,
                # Requests answered 429 by the rate limit fault since the last reset.
                "rate_limited": sandbox.rate_limited_total,
            }
        )

    async def reset(request):
        from localstripe.resources import store as localstripe_store

        with state.lock:
            state.reset()
            localstripe_store.clear()
            sandbox.rate_limited_total = 0
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

    def on_object(object_type: str, make_it):
        """A control route acting on one object: `make_it(obj, body)` under the state's lock; errors are
        Stripe's (a 404 for an unknown id, a 400 for a state that does not allow it)."""

        async def handle(request):
            body = await read_json(request)
            with state.lock:
                try:
                    obj = state.get(request.match_info["id"], object_type)
                    result = make_it(obj, body)
                except SandboxError as error:
                    return error_response(error, "req_control")
            return web.json_response(public(copy_of(result)))

        return handle

    def as_int(value):
        if value in (None, ""):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SandboxError(400, f"Invalid integer: {value}") from None

    dispute = on_object(
        "charge",
        lambda charge, body: open_dispute(
            sandbox.api,
            charge,
            body.get("reason") or "fraudulent",
            due_by=as_int(body.get("due_by")),
            amount=as_int(body.get("amount")),
        ),
    )
    review = on_object(
        "charge",
        lambda charge, body: open_review(
            sandbox.api,
            charge,
            body.get("reason") or "rule",
            risk_score=as_int(body.get("risk_score")),
            rule={"predicate": body["rule"]} if body.get("rule") else None,
            ip_address=body.get("ip_address"),
            ip_country=body.get("ip_country"),
        ),
    )
    early_fraud_warning = on_object(
        "charge",
        lambda charge, body: open_early_fraud_warning(
            sandbox.api, charge, body.get("fraud_type") or "made_with_stolen_card"
        ),
    )
    resolve = on_object(
        "dispute", lambda dispute, body: resolve_dispute(sandbox.api, dispute, body.get("outcome") or "")
    )

    async def fixtures(request):
        body = await read_json(request)
        with state.lock:
            try:
                result = past_due_invoices(sandbox.api, body)
            except SandboxError as error:
                return error_response(error, "req_control")
        return web.json_response(result)

    async def tax_id_verification(request):
        body = await read_json(request)
        status = body.get("status")
        if status not in ("pending", "verified", "unverified", "unavailable"):
            return web.json_response(
                {"error": {"message": "status: pending, verified, unverified or unavailable"}}, status=400
            )
        result = set_verification(sandbox.api, request.match_info["id"], status)
        if result is None:
            return error_response(SandboxError(404, "No such tax id", code="resource_missing"), "req_control")
        return web.json_response(public(copy_of(result)))

    def invoice_for(request) -> dict:
        """The invoice of a hosted page or PDF URL: its id and its secret token must both match, else 404."""
        invoice = state.objects.get(request.match_info["id"])
        token = invoice.get(DOCUMENT_TOKEN) if invoice and invoice["object"] == "invoice" else None
        if not token or not hmac.compare_digest(token.encode(), request.match_info["token"].encode()):
            raise web.HTTPNotFound()
        return invoice

    async def invoice_page(request):
        invoice = invoice_for(request)
        rows = "".join(
            f"<tr><td>{line['description']}</td><td style='text-align:right'>{line['amount']}</td></tr>"
            for line in invoice["lines"]["data"]
        )
        html = (
            f"<!doctype html><meta charset=utf-8><title>Invoice {invoice['number']}</title>"
            f"<body style='font-family:sans-serif;max-width:640px;margin:2rem auto'>"
            f"<h1>Invoice {invoice['number'] or invoice['id']}</h1><p>Status: {invoice['status']} · "
            f"{invoice['currency'].upper()} {invoice['amount_due']} (minor units)</p>"
            f"<table style='width:100%'>{rows}</table><p><a href='{invoice['invoice_pdf']}'>PDF</a></p>"
            f"<p style='color:#888'>Stripe sandbox — not a real invoice.</p></body>"
        )
        return web.Response(text=html, content_type="text/html")

    async def invoice_pdf(request):
        invoice = invoice_for(request)
        return web.Response(
            body=pdf(
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
    app.router.add_post("/_sandbox/disputes/{id}/resolve", resolve)
    app.router.add_post("/_sandbox/fixtures/past_due_invoices", fixtures)
    app.router.add_post("/_sandbox/tax_ids/{id}/verification", tax_id_verification)
    app.router.add_get("/_sandbox/invoices/{id}/{token}", invoice_page)  # engine.invoicing.document_path
    app.router.add_get("/_sandbox/invoices/{id}/{token}/pdf", invoice_pdf)
    app.router.add_get("/v3/stripe.js", stripe_js)
    app.router.add_get("/v3/", stripe_js)


async def read_json(request) -> dict:
    try:
        return await request.json() if await request.read() else {}
    except ValueError:
        return {}


def pdf(text: str) -> bytes:
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
