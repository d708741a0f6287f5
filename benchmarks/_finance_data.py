"""A company at Slack's size, generated in bulk for the finance benchmarks (dashboard, lists, reports).

100,000 customers (with organisations) in 16 countries, 110,000 subscriptions, 1.3 million
invoices, and the revenue ledgers kept for them, written with COPY into a PostgreSQL database that
is kept and reused between runs (`bench_finance_v2` on DATABASE_URL's server; `--fresh` rebuilds).
Objects have the mirror's shape (dahlia payloads in `stripe_data`), slimmed to the keys pages read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys

from _common import ROOT, bench_env, build_schema, setup_django

DB_NAME = "bench_finance_v2"
CUSTOMERS = 100_000
SUBSCRIPTIONS = 110_000
INVOICES = 1_300_000
COUNTRIES = [
    ("US", "usd"), ("CA", "usd"), ("GB", "gbp"), ("DE", "eur"), ("FR", "eur"), ("NL", "eur"), ("ES", "eur"),
    ("IE", "eur"), ("JP", "jpy"), ("KR", "krw"), ("KW", "kwd"), ("AU", "aud"), ("BR", "brl"), ("IN", "inr"),
    ("SE", "eur"), ("SG", "usd"),
]  # fmt: skip
UNIT = {
    "usd": 875,
    "eur": 800,
    "gbp": 700,
    "jpy": 1050,
    "krw": 11000,
    "kwd": 2700,
    "aud": 1300,
    "brl": 4500,
    "inr": 60000,
}
NOW = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())
DAY = 86400


def database_url() -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("the finance benchmarks need PostgreSQL: set DATABASE_URL=postgres://…")
    server, _, _ = base.rpartition("/")
    return f"{server}/{DB_NAME}"


def ensure(fresh: bool = False) -> dict[str, str]:
    """The benchmark database, made once: returns the environment that points at it."""
    import psycopg

    url = database_url()
    server, _, _ = url.rpartition("/")
    admin = psycopg.connect(f"{server}/postgres", autocommit=True)
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
    complete = False
    if exists and not fresh:
        with psycopg.connect(url) as db:
            complete = bool(db.execute("SELECT to_regclass('bench_complete')").fetchone()[0])
    if exists and (fresh or not complete):
        admin.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
        exists = False
    env = bench_env(url, LOG_LEVEL="ERROR")
    if not exists:
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    admin.close()
    if not complete:
        print(f"generating {DB_NAME}: {CUSTOMERS:,} customers, {SUBSCRIPTIONS:,} subscriptions, {INVOICES:,} invoices")
        build_schema(env)
        setup_django(env)
        generate()
    else:
        build_schema(env)  # tables of models added since the data was made (syncdb leaves the rest alone)
        setup_django(env)
        _own_indexes()  # and indexes added to our models since
        _mirror_indexes()
    return env


def _own_indexes() -> None:
    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes")
        present = {row[0] for row in cursor.fetchall()}
    with connection.schema_editor() as editor:
        for model in apps.get_models():
            if model._meta.app_label.startswith("billing_") or model._meta.app_label == "accounts":
                for index in model._meta.indexes:
                    if index.name not in present:
                        editor.add_index(model, index)
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE billing_reports_subscriptionmrr"
        ) if connection.in_atomic_block is False else None


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def generate() -> None:
    from django.db import connection
    from django.utils import timezone

    from billing.reports.ledger import month_of

    rng = random.Random(2026)
    now = timezone.now()
    _mirror_indexes()
    raw = connection.connection
    with raw.cursor() as cur:
        customers = []
        for n in range(CUSTOMERS):
            country, currency = COUNTRIES[n % len(COUNTRIES)]
            customers.append((f"cus_b{n:07d}", country, currency, NOW - rng.randint(30, 900) * DAY))
        _copy(
            cur,
            "djstripe_customer",
            ["id", "livemode", "created", "email", "metadata", "stripe_data", "djstripe_created", "djstripe_updated"],
            (
                (
                    cid,
                    False,
                    dt.datetime.fromtimestamp(created, dt.UTC),
                    f"billing@{cid}.example",
                    "{}",
                    json.dumps(
                        {
                            "id": cid,
                            "object": "customer",
                            "email": f"billing@{cid}.example",
                            "name": f"Team {cid[5:]}",
                            "address": {"country": country},
                            "currency": currency,
                            "livemode": False,
                            "invoice_settings": {"default_payment_method": None},
                        }
                    ),
                    now,
                    now,
                )
                for cid, country, currency, created in customers
            ),
        )
        _copy(
            cur,
            "accounts_organisation",
            ["name", "slug", "country", "billing_email", "stripe_customer_id", "is_enterprise", "created_at"],
            (
                (
                    f"Team {cid[5:]}",
                    cid,
                    country,
                    f"billing@{cid}.example",
                    cid,
                    n % 50 == 0,
                    dt.datetime.fromtimestamp(created, dt.UTC),
                )
                for n, (cid, country, currency, created) in enumerate(customers)
            ),
        )
        subs, mrr_rows, moves, monthly = [], [], [], {}
        for n in range(SUBSCRIPTIONS):
            cid, country, currency, created = customers[n % CUSTOMERS]
            seats = rng.choice([3, 5, 8, 12, 20, 35, 60, 150])
            annual = n % 3 == 0
            unit = UNIT[currency] * (10 if annual else 1)
            status = rng.choices(["active", "trialing", "past_due", "canceled"], [80, 4, 3, 13])[0]
            start = created + rng.randint(0, 20) * DAY
            sid = f"sub_b{n:07d}"
            data = {
                "id": sid,
                "object": "subscription",
                "customer": cid,
                "status": status,
                "currency": currency,
                "cancel_at_period_end": n % 17 == 0,
                "created": start,
                "livemode": False,
                "start_date": start,
                "items": {
                    "object": "list",
                    "has_more": False,
                    "data": [
                        {
                            "id": f"si_b{n:07d}",
                            "object": "subscription_item",
                            "quantity": seats,
                            "current_period_start": NOW - 10 * DAY,
                            "current_period_end": NOW + 20 * DAY,
                            "price": {
                                "id": f"price_{currency}_{'y' if annual else 'm'}",
                                "object": "price",
                                "currency": currency,
                                "unit_amount": unit,
                                "recurring": {
                                    "interval": "year" if annual else "month",
                                    "interval_count": 1,
                                    "usage_type": "licensed",
                                },
                            },
                        }
                    ],
                },
            }
            subs.append((sid, cid, start, data))
            mrr = 0 if status in ("trialing", "canceled") else round(unit * seats / (12 if annual else 1))
            mrr_rows.append((sid, cid, currency, mrr, status, now))
            if status != "trialing":
                first = round(unit * seats / (12 if annual else 1))
                moves.append(
                    (sid, cid, currency, "new", first, first, dt.datetime.fromtimestamp(start, dt.UTC), "bench")
                )
                if status == "canceled":
                    end = dt.datetime.fromtimestamp(min(NOW, start + rng.randint(60, 500) * DAY), dt.UTC)
                    moves.append((sid, cid, currency, "churn", -first, 0, end, "bench"))
        _copy(
            cur,
            "djstripe_subscription",
            [
                "id",
                "livemode",
                "created",
                "metadata",
                "customer_id",
                "stripe_data",
                "djstripe_created",
                "djstripe_updated",
            ],
            (
                (sid, False, dt.datetime.fromtimestamp(start, dt.UTC), "{}", cid, json.dumps(data), now, now)
                for sid, cid, start, data in subs
            ),
        )
        _copy(
            cur,
            "billing_reports_subscriptionmrr",
            ["subscription_id", "customer_id", "currency", "mrr", "status", "updated_at"],
            mrr_rows,
        )
        _copy(
            cur,
            "billing_reports_mrrmovement",
            ["subscription_id", "customer_id", "currency", "kind", "amount", "mrr_after", "effective_at", "source"],
            moves,
        )
        for _, _, currency, kind, amount, _, when, _ in moves:
            key = ("mrr", month_of(when), currency, kind)
            total = monthly.setdefault(key, [0, 0])
            total[0] += amount
            total[1] += 1

        def invoices():
            for n in range(INVOICES):
                sid, cid, start, sub = subs[n % SUBSCRIPTIONS]
                currency = sub["currency"]
                created = start + (n // SUBSCRIPTIONS) * 30 * DAY
                if created > NOW:
                    created = NOW - rng.randint(0, 300) * DAY
                status = rng.choices(["paid", "open", "void", "uncollectible"], [92, 5, 2, 1])[0]
                seats = sub["items"]["data"][0]["quantity"]
                amount = sub["items"]["data"][0]["price"]["unit_amount"] * seats
                send = n % 50 == 0
                data = {
                    "id": f"in_b{n:08d}",
                    "object": "invoice",
                    "customer": cid,
                    "status": status,
                    "currency": currency,
                    "number": f"B{n:08d}",
                    "amount_due": amount,
                    "amount_paid": amount if status == "paid" else 0,
                    "amount_remaining": 0 if status == "paid" else amount,
                    "created": created,
                    "livemode": False,
                    "attempt_count": 1 if status == "open" and not send else 0,
                    "collection_method": "send_invoice" if send else "charge_automatically",
                    "due_date": created + 30 * DAY if send else None,
                    "parent": {"type": "subscription_details", "subscription_details": {"subscription": sid}},
                    "status_transitions": {"paid_at": created + 3600 if status == "paid" else None},
                    "lines": {
                        "object": "list",
                        "has_more": False,
                        "data": [{"id": f"il_b{n:08d}", "amount": amount, "quantity": seats, "description": "Seats"}],
                    },
                    "total_taxes": [],
                    "hosted_invoice_url": None,
                    "invoice_pdf": None,
                }
                if status == "paid":
                    key = ("payments", month_of(dt.datetime.fromtimestamp(created, dt.UTC)), currency, "succeeded")
                    total = monthly.setdefault(key, [0, 0])
                    total[0] += amount
                    total[1] += 1
                yield (
                    data["id"],
                    False,
                    dt.datetime.fromtimestamp(created, dt.UTC),
                    "{}",
                    cid,
                    sid,
                    json.dumps(data),
                    now,
                    now,
                )

        _copy(
            cur,
            "djstripe_invoice",
            [
                "id",
                "livemode",
                "created",
                "metadata",
                "customer_id",
                "subscription_id",
                "stripe_data",
                "djstripe_created",
                "djstripe_updated",
            ],
            invoices(),
        )
        _copy(
            cur,
            "billing_reports_monthlytotal",
            ["ledger", "month", "currency", "kind", "amount", "count"],
            ((*key, amount, count) for key, (amount, count) in monthly.items()),
        )
        cur.execute("CREATE TABLE bench_complete (at timestamptz)")
        cur.execute("INSERT INTO bench_complete VALUES (now())")
        cur.execute("ANALYZE")
    raw.commit()
    print("generated")


def _mirror_indexes() -> None:
    """The project's own indexes on dj-stripe's tables (a migration; the schema here is built without)."""
    import importlib

    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes")
        present = {row[0] for row in cursor.fetchall()}
    for migration in ("0002_mirror_indexes", "0007_list_indexes"):
        module = importlib.import_module(f"billing.stripe.migrations.{migration}")
        with connection.schema_editor() as editor:
            for model_name, name, parts in module.INDEXES:
                if name not in present:
                    editor.add_index(apps.get_model("djstripe", model_name), module._index(name, parts))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    ensure(fresh="--fresh" in sys.argv)
