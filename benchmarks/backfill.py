"""Backfill cost: SQL queries per object mirrored, ours vs dj-stripe's per-object sync.

A loopback server plays Stripe's list endpoints over 50,000 Stripe-shaped objects (customers,
subscriptions with items, invoices with lines). Ours pages through them with the gateway and
writes each page with `mirror.apply_page`; the baseline runs dj-stripe's `sync_from_stripe_data`
on a sample of the same objects (it costs the same per object whatever the count). Goal: ≤ 1.5.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from _common import ACCOUNT, bench_env, build_schema, count_queries, report, setup_django, throwaway_database, timer


def make_objects(total: int) -> dict[str, list[dict]]:
    from tests import stripe_payloads as sp

    per = total // 3
    product = sp.product("prod_bench")
    price = sp.price("price_bench", product_id="prod_bench")
    customers = [sp.customer(f"cus_b{n:07d}", email=f"b{n}@bench.example") for n in range(per)]
    subs = [sp.subscription(f"sub_b{n:07d}", customer_id=f"cus_b{n:07d}", the_price=price) for n in range(per)]
    invoices = [
        sp.invoice(f"in_b{n:07d}", customer_id=f"cus_b{n:07d}", subscription_id=f"sub_b{n:07d}", status="paid")
        for n in range(total - 2 * per - 2)
    ]
    return {
        "/v1/products": [product],
        "/v1/prices": [price],
        "/v1/customers": customers,
        "/v1/subscriptions": subs,
        "/v1/invoices": invoices,
    }


def serve(objects: dict[str, list[dict]]) -> ThreadingHTTPServer:
    index = {path: {o["id"]: i for i, o in enumerate(items)} for path, items in objects.items()}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            items = objects.get(url.path)
            if url.path == "/v1/account":
                body, code = ACCOUNT, 200
            elif items is None:
                body, code = {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}, 404
            else:
                start = index[url.path][query["starting_after"]] + 1 if query.get("starting_after") else 0
                limit = int(query.get("limit", 10))
                page = items[start : start + limit]
                body, code = (
                    {"object": "list", "data": page, "has_more": start + limit < len(items), "url": url.path},
                    200,
                )
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=50_000)
    parser.add_argument("--baseline-sample", type=int, default=300)
    args = parser.parse_args()

    database_url, drop = throwaway_database()
    objects = make_objects(args.objects)
    server = serve(objects)
    base = f"http://127.0.0.1:{server.server_port}"
    env = bench_env(database_url, STRIPE_API_BASE=base, STRIPE_RATE_LIMIT_PER_SECOND="1000")
    try:
        build_schema(env)
        setup_django(env)
        from billing.stripe import sync
        from billing.stripe.gateway import gateway

        types = ["product", "price", "customer", "subscription", "invoice"]
        elapsed = timer()
        with count_queries() as ours_q:
            written = sync.backfill(object_types=types, restart=True)
        ours_seconds = elapsed()
        mirrored = sum(written.values())
        ours = ours_q.count / mirrored

        baseline, baseline_sample = run_baseline(objects, args.baseline_sample)
        report(
            "backfill",
            ours,
            baseline,
            "queries per object",
            objects=mirrored,
            seconds=round(ours_seconds, 1),
            objects_per_second=round(mirrored / ours_seconds, 1),
            stripe_requests=gateway().calls,
            baseline_sample=baseline_sample,
            goal="ours <= 1.5",
        )
    finally:
        server.shutdown()
        from django.db import connections

        connections.close_all()
        drop()


def run_baseline(objects: dict[str, list[dict]], sample: int) -> tuple[float, int]:
    """dj-stripe's own sync, object by object, into emptied tables (what its sync command does)."""
    import stripe
    from django.db import transaction
    from djstripe import models as dj

    stripe.max_network_retries = 0
    chosen = []
    for path, model in (
        ("/v1/customers", dj.Customer),
        ("/v1/subscriptions", dj.Subscription),
        ("/v1/invoices", dj.Invoice),
    ):
        chosen += [(model, o) for o in objects[path][: sample // 3]]
    queries = 0
    synced = 0
    failed = 0
    with transaction.atomic():
        for model in (dj.Invoice, dj.SubscriptionItem, dj.Subscription, dj.Customer):
            model.objects.all().delete()
        for model, obj in chosen:
            with count_queries() as q:
                try:
                    with transaction.atomic():
                        model.sync_from_stripe_data(stripe.convert_to_stripe_object(obj))
                except Exception as error:  # noqa: BLE001 — dahlia payloads crash parts of dj-stripe
                    failed += 1
                    if failed == 1:
                        print(f"baseline: first failure: {type(error).__name__}: {str(error)[:300]}")
            queries += q.count
            synced += 1
        transaction.set_rollback(True)
    if failed:
        print(f"baseline: dj-stripe raised on {failed} of {synced} objects (counted up to the failure)")
    return queries / synced, synced


if __name__ == "__main__":
    main()
