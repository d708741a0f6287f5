"""The revenue dashboard at Slack's size: p95 of the whole page vs the floor of one raw SQL aggregate.

On PostgreSQL with 110,000 subscriptions and 1.3 million invoices (benchmarks/_finance_data.py, made
once and kept). `ours`: p95 ms of the dashboard page (view, ledger reads, FX, template), warm.
`baseline`: p95 ms of one raw SQL aggregate computing MRR per currency from the mirror's subscription
rows — the least any live MRR figure can cost. `ratio_vs_orm`: a naive ORM loop over every
subscription (what a dashboard without a ledger does) ÷ ours.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _common import ROOT, report

sys.path.insert(0, str(ROOT))

BASELINE_SQL = """
SELECT s.stripe_data->>'currency' AS currency,
       ROUND(SUM((i->'price'->>'unit_amount')::numeric * (i->>'quantity')::numeric
                 / CASE WHEN i->'price'->'recurring'->>'interval' = 'year' THEN 12 ELSE 1 END)) AS mrr
FROM djstripe_subscription s, jsonb_array_elements(s.stripe_data->'items'->'data') AS i
WHERE s.stripe_data->>'status' IN ('active', 'past_due')
GROUP BY 1
"""


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--fresh", action="store_true", help="regenerate the data set")
    args = parser.parse_args()
    import _finance_data

    _finance_data.ensure(fresh=args.fresh)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from djstripe.models import Subscription

    from accounts.models import StaffProfile, StaffRole
    from billing.reports.metrics import subscription_mrr

    user, _ = get_user_model().objects.get_or_create(username="bench-analyst")
    StaffProfile.objects.get_or_create(user=user, defaults={"role": StaffRole.analyst})
    client = Client()
    client.force_login(user)
    for _ in range(5):  # warm: connections, templates, the planner's caches
        assert client.get("/revenue/").status_code == 200
    ours_samples = []
    for _ in range(args.requests):
        start = time.perf_counter()
        response = client.get("/revenue/")
        ours_samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL)
        baseline_mrr = dict(cursor.fetchall())
        base_samples = []
        for _ in range(max(10, args.requests // 4)):
            start = time.perf_counter()
            cursor.execute(BASELINE_SQL)
            cursor.fetchall()
            base_samples.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    orm_total: dict[str, int] = {}
    for subscription in Subscription.objects.only("stripe_data").iterator(chunk_size=2000):
        currency = subscription.stripe_data.get("currency")
        orm_total[currency] = orm_total.get(currency, 0) + subscription_mrr(subscription)
    orm_ms = (time.perf_counter() - start) * 1000
    ours, baseline = p95(ours_samples), p95(base_samples)
    same = all(abs(int(baseline_mrr.get(c, 0)) - orm_total.get(c, 0)) <= 110_000 for c in orm_total)
    report(
        "dashboard",
        ours,
        baseline,
        "ms (p95)",
        ours_median_ms=round(statistics.median(ours_samples), 1),
        ratio_vs_orm=round(orm_ms / ours, 1),
        orm_loop_ms=round(orm_ms, 1),
        subscriptions=_finance_data.SUBSCRIPTIONS,
        invoices=_finance_data.INVOICES,
        same_mrr_as_baseline=same,
        goal="ours <= 1000, ratio <= 2, ratio_vs_orm >= 20",
    )


if __name__ == "__main__":
    main()
