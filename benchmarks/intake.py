"""Webhook intake throughput under gunicorn: signed events accepted per second, vs a bare view.

Both run on the same gunicorn server in the same run, driven by the same loopback client; the
bare view reads the body and answers, the intake verifies the signature, stores the event once
and enqueues it (Redis when REDIS_URL is set). Goal: ≥ 0.5× the bare view, ≥ 400 events/s, p99 ≤ 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

from _common import ROOT, bench_env, build_schema, report, throwaway_database

SECRET = "whsec_benchmark_intake_secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def drive(url: str, bodies: list[tuple[bytes, dict]], concurrency: int) -> tuple[float, list[float], int]:
    import aiohttp

    latencies: list[float] = []
    failures = 0
    queue = list(reversed(bodies))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker():
            nonlocal failures
            while queue:
                body, headers = queue.pop()
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        failures += 1
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return len(bodies) / elapsed, latencies, failures


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[int(len(ordered) * 0.99) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn gthread threads per worker (1: sync)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from tests import stripe_payloads as sp

    database_url, drop = throwaway_database()
    env = bench_env(database_url, STRIPE_WEBHOOK_SECRET=SECRET, PORTAL_BENCH_VIEWS="1", LOG_LEVEL="WARNING")
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
        env["CELERY_KEY_PREFIX"] = prefix  # our wake-up messages land apart, and are removed after
    build_schema(env)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        bare_bodies = []
        intake_bodies = []
        for n in range(args.events):
            body, sig = sp.signed(sp.event(sp.customer(f"cus_intake_{n:07d}"), "customer.created"), SECRET)
            headers = {"Content-Type": "application/json", "Stripe-Signature": sig}
            intake_bodies.append((body, headers))
            bare_bodies.append((body, headers))
        warm = [(sp.signed(sp.event(sp.customer(), "customer.created"), SECRET)) for _ in range(200)]
        warm_bodies = [(b, {"Content-Type": "application/json", "Stripe-Signature": s}) for b, s in warm]
        asyncio.run(drive(f"{base}/stripe/webhook/", warm_bodies, args.concurrency))
        asyncio.run(drive(f"{base}/bench/bare/", warm_bodies, args.concurrency))

        # Three alternating rounds; the median of each side (the machine is shared with the client).
        rounds = 3
        size = args.events // rounds
        bare_rates, our_rates, latencies = [], [], []
        failures = 0
        for r in range(rounds):
            rate, _, failed = asyncio.run(
                drive(f"{base}/bench/bare/", bare_bodies[r * size : (r + 1) * size], args.concurrency)
            )
            bare_rates.append(rate)
            failures += failed
            rate, lat, failed = asyncio.run(
                drive(f"{base}/stripe/webhook/", intake_bodies[r * size : (r + 1) * size], args.concurrency)
            )
            our_rates.append(rate)
            latencies += lat
            failures += failed
        baseline, ours = sorted(bare_rates)[1], sorted(our_rates)[1]
        bare_failures = 0
        report(
            "intake",
            ours,
            baseline,
            "events/s",
            p99_ms=round(p99(latencies), 1),
            events=args.events,
            failures=failures + bare_failures,
            gunicorn_workers=args.workers,
            gunicorn_threads=args.threads,
            concurrency=args.concurrency,
            database="postgresql" if database_url.startswith("postgres") else "sqlite",
            broker="redis" if env.get("REDIS_URL") else "filesystem",
            goal="ratio >= 0.5, ours >= 400, p99_ms <= 250",
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        drop()
        if env.get("REDIS_URL"):
            import redis

            client = redis.Redis.from_url(env["REDIS_URL"])
            for key in client.scan_iter(f"{prefix}*"):
                client.delete(key)


if __name__ == "__main__":
    main()
