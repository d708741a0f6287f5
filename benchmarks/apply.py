"""Applying events to the mirror: ours (from the payload) vs dj-stripe's stock handler (re-fetch).

The same Stripe-shaped events (customers, subscriptions with items, invoices with lines; shuffled
within each object's neighbourhood as deliveries are) go through:
- ours: `events_process`, as a worker's drain runs it: load a batch of stored events, then per
  event one transaction that claims, upserts and marks it applied;
- baseline: dj-stripe's `Event.process`, which re-fetches every object from Stripe — by default
  the project's stripe_sandbox, whose account made the events (`--source synthetic` uses generated
  payloads and an in-memory stand-in that answers faster than the sandbox or Stripe).
Goal: ≥ 8× the baseline, ≥ 200 events/s, ≤ 0.05 Stripe calls per event.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from _common import ACCOUNT, bench_env, build_schema, count_queries, report, setup_django, throwaway_database, timer

PATHS = {
    "customer": "customers",
    "subscription": "subscriptions",
    "invoice": "invoices",
    "price": "prices",
    "product": "products",
    "subscription_item": "subscription_items",
}


class Stripe:
    """Answers GET /v1/<type>/<id> with the newest state of each object; counts the calls."""

    def __init__(self, objects: dict[str, dict]):
        self.objects = objects
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.calls += 1
                parts = urlparse(self.path).path.strip("/").split("/")
                if parts == ["v1", "account"]:
                    body, code = ACCOUNT, 200
                elif len(parts) == 3 and parts[2] in outer.objects:
                    body, code = outer.objects[parts[2]], 200
                elif len(parts) >= 3 and parts[1] == "customers" and parts[-1] in ("sources", "tax_ids"):
                    body, code = {"object": "list", "data": [], "has_more": False, "url": self.path}, 200
                elif len(parts) == 3 and parts[1] == "products":
                    body, code = (
                        {
                            "id": parts[2],
                            "object": "product",
                            "name": "Pro",
                            "active": True,
                            "created": 1_700_000_000,
                            "livemode": False,
                            "metadata": {},
                        },
                        200,
                    )
                else:
                    body = {
                        "error": {
                            "type": "invalid_request_error",
                            "message": f"No such object: {self.path}",
                            "code": "resource_missing",
                        }
                    }
                    code = 404
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


class Sandbox:
    """The project's stripe_sandbox in a subprocess; counts the calls the baseline makes to it."""

    def __init__(self):
        import socket
        import subprocess
        import sys
        import time
        import urllib.request

        from _common import ROOT

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stripe_sandbox", "--port", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{self.url}/_sandbox/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        self.calls = 0

    def stop(self):
        import os
        import signal

        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)


def events_from_sandbox(sandbox: Sandbox, total: int) -> list[dict]:
    """Make a believable account in the sandbox until it has sent `total` events; return them, oldest first."""
    from billing.stripe.gateway import gateway

    client = gateway()
    product = client.post("/v1/products", {"name": "Pro"}, idempotency_key="bench:product")
    prices = [
        client.post(
            "/v1/prices",
            {"product": product["id"], "currency": c, "unit_amount": a, "recurring": {"interval": i}},
            idempotency_key=f"bench:price:{c}:{i}",
        )
        for c, a in (("usd", 875), ("eur", 800), ("jpy", 1050), ("kwd", 2700))
        for i in ("month", "year")
    ]
    n = 0
    while True:
        if n % 10 == 0 and _event_count(sandbox) >= total:
            break
        n += 1
        customer = client.post(
            "/v1/customers", {"email": f"b{n}@bench.example", "name": f"Bench {n}"}, idempotency_key=f"bench:cus:{n}"
        )
        token = "pm_card_chargeCustomerFail" if n % 9 == 0 else "pm_card_visa"
        client.post(
            f"/v1/payment_methods/{token}/attach", {"customer": customer["id"]}, idempotency_key=f"bench:pm:{n}"
        )
        items = [{"price": prices[n % len(prices)]["id"], "quantity": n % 20 + 1}]
        sub = client.post(
            "/v1/subscriptions",
            {"customer": customer["id"], "default_payment_method": "pm_card_visa", "items": items},
            idempotency_key=f"bench:sub:{n}",
        )
        if n % 3 == 0:
            item = sub["items"]["data"][0]["id"]
            client.post(
                f"/v1/subscriptions/{sub['id']}",
                {"items": [{"id": item, "quantity": n % 20 + 5}], "proration_behavior": "create_prorations"},
                idempotency_key=f"bench:sub-seats:{n}",
            )
        if n % 7 == 0:
            client.delete(f"/v1/subscriptions/{sub['id']}", idempotency_key=f"bench:sub-cancel:{n}")
    events = list(client.list_all("/v1/events"))
    events.reverse()
    return events[:total]


def _event_count(sandbox: Sandbox) -> int:
    import urllib.request

    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/health", timeout=5) as response:
        return json.loads(response.read())["events"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument(
        "--baseline-events",
        type=int,
        default=None,
        help="Run dj-stripe on the first N of the same events (default: all)",
    )
    parser.add_argument(
        "--source",
        choices=["sandbox", "synthetic"],
        default="sandbox",
        help="sandbox: real events from stripe_sandbox, which the baseline re-fetches from; "
        "synthetic: generated payloads and an in-memory stand-in for Stripe",
    )
    args = parser.parse_args()

    from tests import stripe_payloads as sp

    sandbox = Sandbox() if args.source == "sandbox" else None
    if sandbox is None:
        events, final = sp.event_stream(args.events, seed=21)
        latest = {object_id: state for object_id, state in final.items() if state is not None}
        stripe_server = Stripe(latest)
        api_base = stripe_server.url
    else:
        stripe_server = None
        api_base = sandbox.url
    database_url, drop = throwaway_database()
    env = bench_env(database_url, STRIPE_API_BASE=api_base, LOG_LEVEL="ERROR", STRIPE_RATE_LIMIT_PER_SECOND="100000")
    try:
        build_schema(env)
        setup_django(env)
        if sandbox is not None:
            events = events_from_sandbox(sandbox, args.events)
        from billing.stripe.gateway import gateway
        from billing.stripe.models import EventStatus, StripeEvent
        from billing.stripe.processing import events_process

        sp.store_events(events)
        from billing.stripe.gateway import gateway as _gw

        calls_before = (stripe_server.calls if stripe_server else 0) + _gw().calls
        elapsed = timer()
        ids = [e["id"] for e in events]
        with count_queries() as ours_q:
            for start in range(0, len(ids), 200):  # as a drain takes them: batches of 200
                events_process(event_ids=ids[start : start + 200])
        ours_seconds = elapsed()
        ours = len(events) / ours_seconds
        our_calls = (stripe_server.calls if stripe_server else 0) + gateway().calls - calls_before
        failed = StripeEvent.objects.exclude(status=EventStatus.applied).count()

        baseline_events = events[: args.baseline_events or len(events)]
        baseline, baseline_calls, baseline_queries, baseline_failed = run_baseline(
            baseline_events, stripe_server, api_base
        )
        report(
            "apply",
            ours,
            baseline,
            "events/s",
            stripe_calls_per_event=round(our_calls / len(events), 4),
            source=args.source,
            queries_per_event=round(ours_q.count / len(events), 2),
            events=len(events),
            failed=failed,
            baseline_events=len(baseline_events),
            baseline_failed=baseline_failed,
            baseline_stripe_calls_per_event=round(baseline_calls / len(baseline_events), 2),
            baseline_queries_per_event=round(baseline_queries / len(baseline_events), 1),
            goal="ratio >= 8, ours >= 200, stripe_calls_per_event <= 0.05",
        )
    finally:
        if stripe_server:
            stripe_server.server.shutdown()
        if sandbox:
            sandbox.stop()
        from django.db import connections

        connections.close_all()
        drop()


def run_baseline(events: list[dict], stripe_server, api_base: str) -> tuple[float, int, int, int]:
    """dj-stripe's stock path on empty mirror tables: `Event.process` per event, re-fetching from Stripe."""
    import stripe
    from django.db import transaction
    from djstripe import models as dj

    stripe.max_network_retries = 0
    stripe.api_base = api_base
    counter = _count_http_calls()
    for model in (dj.LineItem, dj.Invoice, dj.SubscriptionItem, dj.Subscription, dj.Price, dj.Product, dj.Customer):
        model.objects.all().delete()
    failed = 0
    elapsed = timer()
    with count_queries() as q:
        for e in events:
            try:
                dj.Event.process(e)  # the parsed JSON, as dj-stripe's WebhookEventTrigger passes it
            except Exception as error:  # noqa: BLE001 — count, as a worker would log and move on
                failed += 1
                if failed == 1:
                    print(f"baseline: first failure: {type(error).__name__}: {str(error)[:300]}")
    seconds = elapsed()
    transaction.get_connection().close()
    return len(events) / seconds, counter["calls"], q.count, failed


def _count_http_calls() -> dict:
    """Count every request the stripe SDK sends (the baseline's calls to Stripe)."""
    import stripe

    counter = {"calls": 0}
    original = stripe.RequestsClient.request

    def counting(self, *args, **kwargs):
        counter["calls"] += 1
        return original(self, *args, **kwargs)

    stripe.RequestsClient.request = counting
    return counter


if __name__ == "__main__":
    main()
