"""Usage ingestion: events through the HTTP API into PostgreSQL with dedupe, vs raw COPY and an ORM loop.

One run, one throwaway database. Ours: batches of 1,000 events (10% of them replays of events
already sent) posted by concurrent clients to `POST /api/usage/events` on gunicorn (several sync
workers): key check, rate limit, per-event validation, one INSERT … ON CONFLICT DO NOTHING
statement per batch into the day-partitioned table with the daily aggregates kept in the same
statement. Baseline: psycopg COPY of the same stored rows into an identical partitioned table
(same columns, primary key and partitions) — no HTTP, no validation, no dedupe, no aggregates.
Also an ORM loop (`UsageEvent(...).save(force_insert=True)`, one row per statement) on a sample.

Three alternating rounds (ours, then COPY and the ORM loop on that round's rows); the median of
each, as the machine is shared. Prints `ours` (events/s, duplicates included), `baseline` (COPY
rows/s), `ratio` (ours ÷ COPY),
`ratio_vs_orm`, `p99_ms` per batch. Goal: ours ≥ 10,000, ratio ≥ 0.25, ratio_vs_orm ≥ 10.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from _common import ROOT, bench_env, build_schema, report, setup_django, throwaway_database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_batches(
    keys: list[str], batches: int, size: int, now: float, *, prefix: str, pool: dict[int, list[dict]]
) -> tuple[list, list]:
    """`batches` bodies of `size` events; a tenth of each replays events the organisation sent before
    (in `pool`, which this fills). Returns the bodies and the (organisation, event) pairs stored."""
    rng = random.Random(prefix)
    bodies, stored = [], []
    endpoints = ["/v1/messages", "/v1/files", "/v1/search", "/v1/calls"]
    counter = 0
    for n in range(batches):
        org = n % len(keys)
        earlier = pool.setdefault(org, [])
        events = rng.sample(earlier[-20000:], min(size // 10, len(earlier)))
        while len(events) < size:
            counter += 1
            event = {
                "id": f"{prefix}-{org}-{counter:08d}",
                "meter": rng.choice(["api_calls", "api_calls", "messages", "storage_mb"]),
                "value": rng.randint(1, 40),
                "timestamp": int(now - rng.uniform(0, 3 * 3600)),
                "properties": {"endpoint": rng.choice(endpoints)} if rng.random() < 0.5 else {},
            }
            events.append(event)
            stored.append((org, event))
        earlier.extend(e for _, e in stored[-(size - size // 10) :])
        rng.shuffle(events)
        bodies.append((keys[org], json.dumps({"events": events}).encode()))
    return bodies, stored


async def drive(url: str, bodies: list, concurrency: int) -> tuple[float, list[float], int, dict]:
    import aiohttp

    latencies: list[float] = []
    failures = 0
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    queue = list(reversed(bodies))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker():
            nonlocal failures
            while queue:
                key, body = queue.pop()
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    payload = await response.read()
                    if response.status != 200:
                        failures += 1
                    else:
                        answer = json.loads(payload)
                        for name in totals:
                            totals[name] += answer[name]
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return sum(len(json.loads(b)["events"]) for _, b in bodies) / elapsed, latencies, failures, totals


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=120)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--organisations", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--orm-rows", type=int, default=2400)
    args = parser.parse_args()

    database_url, drop = throwaway_database()
    env = bench_env(database_url, LOG_LEVEL="WARNING", USAGE_RATE_PER_ORG="100000000")
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    build_schema(env)
    setup_django(env)

    from django.db import connection

    from accounts.models import Organisation
    from billing.usage.keys import api_key_create
    from billing.usage.models import Aggregation, Meter, UsageEvent

    meters = {
        "api_calls": Meter.objects.create(key="api_calls", name="API calls", aggregation=Aggregation.sum),
        "messages": Meter.objects.create(key="messages", name="Messages", aggregation=Aggregation.count),
        "storage_mb": Meter.objects.create(key="storage_mb", name="Storage", aggregation=Aggregation.max),
    }
    orgs, keys = [], []
    for n in range(args.organisations + 1):
        org = Organisation.objects.create(
            name=f"Bench {n}", slug=f"bench-{n}", country="US", billing_email="b@x.example"
        )
        orgs.append(org)
        keys.append(api_key_create(organisation=org, name="bench", actor=None)[1])
    orm_org = orgs.pop()
    keys.pop()
    now = time.time()
    pool: dict[int, list[dict]] = {}
    warm_bodies, _ = make_batches(keys, len(keys) * 2, 500, now - 3600, prefix="warm", pool=pool)
    bodies, stored = make_batches(keys, args.batches, args.size, now, prefix="ev", pool=pool)

    import datetime as dt

    # The yardstick's table: identical to the events table (columns, primary key, day partitions).
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE bench_copy (LIKE billing_usage_usageevent INCLUDING ALL) PARTITION BY RANGE ("timestamp")'
        )
        day = dt.date.fromtimestamp(now - 4 * 86400)
        for _ in range(6):
            nxt = day + dt.timedelta(days=1)
            cursor.execute(
                f"CREATE TABLE bench_copy_{day:%Y%m%d} PARTITION OF bench_copy "
                f"FOR VALUES FROM ('{day} 00:00+00') TO ('{nxt} 00:00+00')"
            )
            day = nxt
    connection.close()
    connection.ensure_connection()
    raw = connection.connection  # psycopg's own, for COPY

    def copy_rate(pairs) -> float:
        rows = [
            (orgs[org].pk, meters[e["meter"]].pk, dt.datetime.fromtimestamp(e["timestamp"], dt.UTC), e["id"],
             e["value"], "", json.dumps(e["properties"]), dt.datetime.now(dt.UTC), False)
            for org, e in pairs
        ]  # fmt: skip
        with raw.cursor() as cursor:
            cursor.execute("TRUNCATE bench_copy")
        raw.commit()
        start = time.perf_counter()
        with raw.cursor() as cursor:
            with cursor.copy(
                'COPY bench_copy (organisation_id, meter_id, "timestamp", event_id, value, member, properties, '
                "received_at, late) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        raw.commit()
        return len(rows) / (time.perf_counter() - start)

    def orm_rate(pairs) -> float:
        start = time.perf_counter()
        for org, e in pairs:
            UsageEvent(
                organisation=orm_org, meter_id=meters[e["meter"]].pk, event_id=f"{org}-{e['id']}",
                timestamp=dt.datetime.fromtimestamp(e["timestamp"], dt.UTC), value=e["value"],
                properties=e["properties"], received_at=dt.datetime.now(dt.UTC),
            ).save(force_insert=True)  # fmt: skip
        return len(pairs) / (time.perf_counter() - start)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    ours_rates, copy_rates, orm_rates, latencies = [], [], [], []
    failures = 0
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    rounds = 3  # alternating, the median of each: the machine is shared
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/api/usage/events"
        asyncio.run(drive(url, warm_bodies, args.concurrency))
        per_round, stored_per_round = len(bodies) // rounds, len(stored) // rounds
        for r in range(rounds):
            rate, lat, failed, answers = asyncio.run(
                drive(url, bodies[r * per_round : (r + 1) * per_round], args.concurrency)
            )
            ours_rates.append(rate)
            latencies += lat
            failures += failed
            for name in totals:
                totals[name] += answers[name]
            round_rows = stored[r * stored_per_round : (r + 1) * stored_per_round]
            copy_rates.append(copy_rate(round_rows))
            orm_rates.append(orm_rate(round_rows[: args.orm_rows // rounds]))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    ours, baseline, orm = (sorted(rates)[1] for rates in (ours_rates, copy_rates, orm_rates))

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_usage_usageevent WHERE organisation_id <> %s", [orm_org.pk])
        in_table = cursor.fetchone()[0]
    connection.close()
    drop()
    report(
        "usage_ingest",
        ours,
        baseline,
        "events/s",
        ratio_vs_orm=round(ours / orm, 2),
        orm_rows_per_s=round(orm, 1),
        rounds={
            "ours": [round(x) for x in ours_rates],
            "copy": [round(x) for x in copy_rates],
            "orm": [round(x) for x in orm_rates],
        },
        p99_ms=round(p99(latencies), 1),
        events=sum(len(json.loads(b)["events"]) for _, b in bodies),
        accepted=totals["accepted"],
        duplicates=totals["duplicates"],
        rejected=totals["rejected"],
        stored_rows=in_table,
        failures=failures,
        batch_size=args.size,
        gunicorn_workers=args.workers,
        concurrency=args.concurrency,
        database="postgresql" if database_url.startswith("postgres") else "sqlite",
        goal="ours >= 10000, ratio >= 0.25, ratio_vs_orm >= 10",
    )


if __name__ == "__main__":
    main()
