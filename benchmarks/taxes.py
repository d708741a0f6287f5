"""The tax report over a large invoice set (issue 15).

- ours: `taxes.report.tax_report` for a year: one pass over the mirror reading only the JSON keys
  it needs (`values_list` on `stripe_data` paths), the tax rates and FX rates loaded once;
- baseline: the naive report: every invoice loaded as a model (its whole Stripe object), filtered
  and summed in Python (rates and FX looked up in memory as ours does, so only the reading differs).
Both must give the same totals (checked); figures: seconds for the report, invoices per second.
Goal: ratio ≤ 0.5 (at least twice as fast), totals equal to the minor unit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from decimal import Decimal

from _common import bench_env, build_schema, count_queries, report, setup_django, throwaway_database, timer

START = dt.date(2026, 1, 1)
END = dt.date(2026, 12, 31)
RATES = [("DE", "eur", "19"), ("FR", "eur", "20"), ("GB", "gbp", "20"), ("JP", "jpy", "10"),
         ("US-CA", "usd", "7.25"), ("AU", "aud", "10"), ("CH", "kwd", "8.1")]  # fmt: skip
FX = {"eur": "1.08", "gbp": "1.27", "jpy": "0.0066", "aud": "0.65", "kwd": "3.25"}


def generate(invoices: int, customers: int = 500) -> None:
    from django.db import connection
    from django.utils import timezone

    from billing.currencies.models import FxRate
    from taxes.models import PortalTaxRate
    from taxes.treatment import tax_amount

    rng = random.Random(15)
    now = timezone.now()
    for n, (code, _currency, pct) in enumerate(RATES):
        PortalTaxRate.objects.create(
            jurisdiction=code, country=code[:2], state=code[3:], display_name="Tax", tax_type="vat",
            percentage=Decimal(pct), stripe_id=f"txr_bench{n}",
        )  # fmt: skip
    for currency, rate in FX.items():
        for month in range(1, 13):
            FxRate.objects.create(
                currency=currency, quote="usd", rate=Decimal(rate) * (1 + Decimal(month) / 200),
                day=dt.date(2026, month, 1), source="bench",
            )  # fmt: skip
    raw = connection.connection
    with raw.cursor() as cur:
        with cur.copy(
            "COPY djstripe_customer (id, livemode, created, email, metadata, stripe_data, djstripe_created, "
            "djstripe_updated) FROM STDIN"
        ) as copy:
            for c in range(customers):
                cid = f"cus_t{c:06d}"
                copy.write_row((cid, False, now, "", "{}", json.dumps({"id": cid, "object": "customer"}), now, now))
        with cur.copy(
            "COPY djstripe_invoice (id, livemode, created, metadata, customer_id, stripe_data, djstripe_created, "
            "djstripe_updated) FROM STDIN"
        ) as copy:
            start = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())
            for n in range(invoices):
                n_rate = n % len(RATES)
                code, currency, pct = RATES[n_rate]
                when = start + rng.randrange(0, 365 * 86400)
                amount = rng.randrange(500, 500_000)
                tax = tax_amount(amount, Decimal(pct), currency)
                status = rng.choices(["paid", "open", "void", "draft"], [90, 6, 2, 2])[0]
                data = {
                    "id": f"in_t{n:08d}",
                    "object": "invoice",
                    "customer": f"cus_t{n % customers:06d}",
                    "status": status,
                    "currency": currency,
                    "created": when - 3600,
                    "status_transitions": {"finalized_at": when if status != "draft" else None},
                    "subtotal": amount,
                    "total": amount + tax,
                    "total_excluding_tax": amount,
                    "customer_address": {"country": code[:2], "state": code[3:] or None},
                    "total_taxes": [
                        {
                            "amount": tax,
                            "taxable_amount": amount,
                            "tax_behavior": "exclusive",
                            "tax_rate_details": {"tax_rate": f"txr_bench{n_rate}"},
                            "taxability_reason": "standard_rated",
                            "type": "tax_rate_details",
                        }
                    ],  # fmt: skip
                    "lines": {"object": "list", "data": [], "has_more": False},
                }
                copy.write_row(
                    (data["id"], False, dt.datetime.fromtimestamp(when - 3600, dt.UTC), "{}", data["customer"],
                     json.dumps(data), now, now)
                )  # fmt: skip
        cur.execute("ANALYZE")
    raw.commit()


def naive() -> dict[str, int]:
    """The report as one would first write it: every invoice loaded as a model (the whole Stripe
    object), filtered and summed in Python; rates and FX from the same lookups as ours."""
    from djstripe.models import Invoice

    from billing.currencies.fx import RateBook
    from taxes.models import PortalTaxRate

    since = int(dt.datetime.combine(START, dt.time(), tzinfo=dt.UTC).timestamp())
    until = int(dt.datetime.combine(END + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC).timestamp())
    book = RateBook("usd")
    names = {r.stripe_id: r.jurisdiction for r in PortalTaxRate.objects.all()}
    totals: dict[str, int] = {}
    reporting = 0
    for invoice in Invoice.objects.all():
        data = invoice.stripe_data
        when = (data.get("status_transitions") or {}).get("finalized_at")
        if data.get("status") not in ("open", "paid", "uncollectible") or not when or not since <= when < until:
            continue
        day = dt.datetime.fromtimestamp(when, dt.UTC).date()
        for tax in data.get("total_taxes") or []:
            names.get(tax["tax_rate_details"]["tax_rate"])
            currency = data["currency"]
            totals[currency] = totals.get(currency, 0) + tax["amount"]
            reporting += book.convert(tax["amount"], currency, day)
    totals["_reporting"] = reporting
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=50_000)
    args = parser.parse_args()
    database_url, drop = throwaway_database()
    if not database_url.startswith("postgres"):
        raise SystemExit("benchmarks/taxes.py needs PostgreSQL: set DATABASE_URL=postgres://…")
    env = bench_env(database_url, LOG_LEVEL="ERROR")
    try:
        build_schema(env)
        setup_django(env)
        from taxes.report import tax_report

        generate(args.invoices)
        ours_runs, base_runs = [], []
        result = expected = None
        queries = 0
        for _ in range(2):  # alternating, best of two each
            elapsed = timer()
            with count_queries() as counter:
                result = tax_report(start=START, end=END, quote="usd")
            ours_runs.append(elapsed())
            queries = counter.count
            elapsed = timer()
            expected = naive()
            base_runs.append(elapsed())
        ours, baseline = min(ours_runs), min(base_runs)
        reporting = expected.pop("_reporting")
        equal = result.totals == expected and result.reporting_total == reporting
        report(
            "taxes",
            ours,
            baseline,
            "s",
            invoices=args.invoices,
            documents_counted=result.invoices,
            invoices_per_second=round(args.invoices / ours),
            report_queries=queries,
            rows=len(result.rows),
            totals_equal=equal,
            goal="ratio <= 0.5, totals_equal",
        )
        if not equal:
            raise SystemExit(f"totals differ: {result.totals} {result.reporting_total} vs {expected} {reporting}")
    finally:
        from django.db import connections

        connections.close_all()
        drop()


if __name__ == "__main__":
    main()
