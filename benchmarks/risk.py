"""Fraud and disputes: what the risk receivers cost the event pipeline, and the review queue's page.

- ours: payment events (customers, their charges, and a Radar review, an early fraud warning or a
  dispute on one charge in twenty) applied by `events_process` with the risk receivers connected;
- baseline: the same events with the risk receivers disconnected (the mirror and the other apps'
  receivers only). Every `charge.succeeded` reaches the risk receivers (a case may show that charge),
  so this is their cost on the hottest path of a payments business.
- the review queue (`/risk/reviews/`, all statuses, 50 rows) over every review: milliseconds and
  queries per page, which must not grow with the queue.
Goal: ratio ≥ 0.8 (the receivers cost at most a fifth of the pipeline), queue page ≤ 20 queries.
"""

from __future__ import annotations

import argparse
import random
import statistics

from _common import bench_env, build_schema, count_queries, report, setup_django, throwaway_database, timer

T0 = 1_760_000_000


def build_events(customers: int, seed: int = 16) -> list[dict]:
    """Customers with three charges each; one charge in twenty has a Radar review (3 %), an early fraud
    warning (1 %) or a dispute (1 %): a bad month for a SaaS company."""
    from tests import stripe_payloads as sp
    from tests.billing.risk.payloads import charge, dispute, review, warning

    rng = random.Random(seed)
    events = []
    for c in range(customers):
        customer_id = f"cus_bench{c:06d}"
        at = T0 + c
        events.append(
            sp.event(
                sp.customer(customer_id, email=f"pay@bench{c}.example", country="FR"), "customer.created", created=at
            )
        )
        for n in range(3):
            charge_id = f"ch_bench{c:06d}{n}"
            events.append(
                sp.event(
                    charge(charge_id, customer=customer_id, amount=rng.randint(500, 90_000)),
                    "charge.succeeded",
                    created=at,
                )
            )
            kind = rng.random()
            if kind < 0.03:
                events.append(
                    sp.event(review(f"prv_bench{c:06d}{n}", charge_id=charge_id), "review.opened", created=at + 1)
                )
            elif kind < 0.04:
                events.append(
                    sp.event(
                        warning(f"issfr_bench{c:06d}{n}", charge_id=charge_id),
                        "radar.early_fraud_warning.created",
                        created=at + 1,
                    )
                )
            elif kind < 0.05:
                events.append(
                    sp.event(
                        dispute(f"dp_bench{c:06d}{n}", charge_id=charge_id), "charge.dispute.created", created=at + 1
                    )
                )
    return events


def apply(events: list[dict]) -> tuple[float, int]:
    from billing.stripe.processing import events_process
    from tests import stripe_payloads as sp

    sp.store_events(events)
    ids = [e["id"] for e in events]
    elapsed = timer()
    with count_queries() as queries:
        for start in range(0, len(ids), 200):
            events_process(event_ids=ids[start : start + 200])
    return len(events) / elapsed(), queries.count


def reset_mirror() -> None:
    from djstripe import models as dj

    from billing.reports.models import MonthlyTotal, PaymentFact
    from billing.risk.models import DisputeCase, ReviewCase, WarningCase
    from billing.stripe.models import ObjectVersion, StripeEvent
    from billing.stripe.upsert import known_rows

    for model in (ReviewCase, WarningCase, DisputeCase, PaymentFact, MonthlyTotal, ObjectVersion, StripeEvent):
        model.objects.all().delete()
    for model in (dj.Dispute, dj.Review, dj.EarlyFraudWarning, dj.Charge, dj.PaymentIntent, dj.Customer):
        model.objects.all().delete()
    known_rows.forget()


def queue_page(rounds: int = 7) -> tuple[float, int, int]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.models import StaffProfile, StaffRole
    from billing.risk.models import ReviewCase

    user, _ = get_user_model().objects.get_or_create(username="bench-analyst")
    StaffProfile.objects.get_or_create(user=user, defaults={"role": StaffRole.analyst})
    client = Client()
    client.force_login(user)
    times = []
    for _ in range(rounds):
        elapsed = timer()
        with count_queries() as queries:
            response = client.get("/risk/reviews/", {"status": "all", "sort": "-risk"})
        times.append(elapsed() * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times), queries.count, ReviewCase.objects.count()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    database_url, drop = throwaway_database()
    env = bench_env(database_url, LOG_LEVEL="ERROR", STRIPE_RATE_LIMIT_PER_SECOND="100000", ALLOWED_HOSTS="testserver")
    try:
        build_schema(env)
        setup_django(env)
        from billing.risk import receivers
        from billing.stripe.receivers import _registry

        events = build_events(args.customers)
        risk = [f for fs in _registry.values() for f in fs if f.__module__ == receivers.__name__]
        saved = {t: list(fs) for t, fs in _registry.items()}

        def run(with_risk: bool) -> tuple[float, int]:
            for event_type, funcs in saved.items():  # baseline: the pipeline without the risk receivers
                _registry[event_type][:] = funcs if with_risk else [f for f in funcs if f not in risk]
            reset_mirror()
            return apply(events)

        results: dict[bool, list[tuple[float, int]]] = {True: [], False: []}
        for with_risk in (False, True, False, True):  # alternating, best of two each: no warm-up bias
            results[with_risk].append(run(with_risk))
        baseline, baseline_queries = max(results[False])
        ours, our_queries = max(results[True])
        page_ms, page_queries, rows = queue_page()
        report(
            "risk",
            ours,
            baseline,
            "events/s",
            events=len(events),
            queries_per_event=round(our_queries / len(events), 2),
            baseline_queries_per_event=round(baseline_queries / len(events), 2),
            queue_rows=rows,
            queue_page_ms=round(page_ms, 1),
            queue_page_queries=page_queries,
            goal="ratio >= 0.8, queue_page_queries <= 20",
        )
    finally:
        from django.db import connections

        connections.close_all()
        drop()


if __name__ == "__main__":
    main()
