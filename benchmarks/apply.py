"""Applying events to the mirror: ours (from the payload) vs dj-stripe's stock handler (re-fetch).

The same Stripe-shaped events (customers, subscriptions with items, invoices with lines; shuffled
within each object's neighbourhood as deliveries are) go through:
- ours: `events_process`, as a worker's drain runs it: load a batch of stored events, then per
  event one transaction that claims, upserts and marks it applied;
- baseline: dj-stripe's `Event.process`, which re-fetches every object from "Stripe" — here a
  loopback server answering from memory in well under a millisecond, faster than the sandbox or
  Stripe, so the baseline is flattered, not handicapped.
Goal: ≥ 8× the baseline, ≥ 200 events/s, ≤ 0.05 Stripe calls per event.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from _common import bench_env, build_schema, count_queries, report, setup_django, throwaway_database, timer

ACCOUNT = {"id": "acct_bench", "object": "account", "business_profile": {"name": "Bench"}, "country": "US",
           "default_currency": "usd", "email": None, "settings": {}, "type": "standard", "charges_enabled": True,
           "payouts_enabled": True, "details_submitted": True, "metadata": {}, "created": 1_700_000_000}
PATHS = {"customer": "customers", "subscription": "subscriptions", "invoice": "invoices", "price": "prices",
         "product": "products", "subscription_item": "subscription_items"}


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
                    body, code = {"id": parts[2], "object": "product", "name": "Pro", "active": True,
                                  "created": 1_700_000_000, "livemode": False, "metadata": {}}, 200
                else:
                    body = {"error": {"type": "invalid_request_error", "message": f"No such object: {self.path}",
                                      "code": "resource_missing"}}
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--baseline-events", type=int, default=None,
                        help="Run dj-stripe on the first N of the same events (default: all)")
    args = parser.parse_args()

    from tests import stripe_payloads as sp

    events, final = sp.event_stream(args.events, seed=21)
    latest = {object_id: state for object_id, state in final.items() if state is not None}
    stripe_server = Stripe(latest)
    database_url, drop = throwaway_database()
    env = bench_env(database_url, STRIPE_API_BASE=stripe_server.url, LOG_LEVEL="ERROR")
    try:
        build_schema(env)
        setup_django(env)
        from billing.stripe.gateway import gateway
        from billing.stripe.models import EventStatus, StripeEvent
        from billing.stripe.services import events_process

        StripeEvent.objects.bulk_create(
            [StripeEvent(id=e["id"], type=e["type"], api_version=e["api_version"],
                         created=dt.datetime.fromtimestamp(e["created"], dt.UTC),
                         object_type=e["data"]["object"]["object"], object_id=e["data"]["object"]["id"], payload=e)
             for e in events],
            batch_size=1000,
        )
        calls_before = stripe_server.calls + gateway().calls
        elapsed = timer()
        ids = [e["id"] for e in events]
        with count_queries() as ours_q:
            for start in range(0, len(ids), 200):  # as a drain takes them: batches of 200
                events_process(event_ids=ids[start:start + 200])
        ours_seconds = elapsed()
        ours = len(events) / ours_seconds
        our_calls = stripe_server.calls + gateway().calls - calls_before
        failed = StripeEvent.objects.exclude(status=EventStatus.applied).count()

        baseline_events = events[: args.baseline_events or len(events)]
        baseline, baseline_calls, baseline_queries, baseline_failed = run_baseline(baseline_events, stripe_server)
        report("apply", ours, baseline, "events/s", stripe_calls_per_event=round(our_calls / len(events), 4),
               queries_per_event=round(ours_q.count / len(events), 2), events=len(events), failed=failed,
               baseline_events=len(baseline_events), baseline_failed=baseline_failed,
               baseline_stripe_calls_per_event=round(baseline_calls / len(baseline_events), 2),
               baseline_queries_per_event=round(baseline_queries / len(baseline_events), 1),
               goal="ratio >= 8, ours >= 200, stripe_calls_per_event <= 0.05")
    finally:
        stripe_server.server.shutdown()
        from django.db import connections

        connections.close_all()
        drop()


def run_baseline(events: list[dict], stripe_server: Stripe) -> tuple[float, int, int, int]:
    """dj-stripe's stock path on empty mirror tables: `Event.process` per event, re-fetching from Stripe."""
    import stripe
    from django.db import transaction
    from djstripe import models as dj

    stripe.max_network_retries = 0
    stripe.api_base = stripe_server.url
    for model in (dj.LineItem, dj.Invoice, dj.SubscriptionItem, dj.Subscription, dj.Price, dj.Product, dj.Customer):
        model.objects.all().delete()
    calls_before = stripe_server.calls
    failed = 0
    elapsed = timer()
    with count_queries() as q:
        for e in events:
            try:
                dj.Event.process(stripe.convert_to_stripe_object(e))
            except Exception as error:  # noqa: BLE001 — count, as a worker would log and move on
                failed += 1
                if failed == 1:
                    print(f"baseline: first failure: {type(error).__name__}: {str(error)[:300]}")
    seconds = elapsed()
    transaction.get_connection().close()
    return len(events) / seconds, stripe_server.calls - calls_before, q.count, failed


if __name__ == "__main__":
    main()
