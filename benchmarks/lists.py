"""The finance lists at Slack's size: invoices, subscriptions and customers, each with a filter.

On PostgreSQL with 1.3 million invoices (benchmarks/_finance_data.py), under gunicorn, driven by
concurrent loopback clients logged in as an analyst. `ours`: the worst p95 ms of the three pages.
`ratio`: our requests/s (the slowest page) ÷ a bare page's on the same server (the same
middleware and session, no work) — what a list costs beyond simply answering.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request

from _common import ROOT, report

sys.path.insert(0, str(ROOT))

PAGES = {
    "invoices": "/invoices/?status=open&currency=eur",
    "subscriptions": "/subscriptions/?status=past_due",
    "customers": "/customers/?country=DE",
}


async def drive(url: str, cookie: str, total: int, concurrency: int) -> tuple[float, list[float], int]:
    import aiohttp

    latencies: list[float] = []
    failures = 0
    remaining = total
    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as session:

        async def worker():
            nonlocal remaining, failures
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                async with session.get(url, allow_redirects=False) as response:
                    await response.read()
                    failures += response.status != 200
                latencies.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - start), latencies, failures


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    import _finance_data

    env = _finance_data.ensure()
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import StaffProfile, StaffRole

    user, _ = get_user_model().objects.get_or_create(username="bench-analyst")
    StaffProfile.objects.get_or_create(user=user, defaults={"role": StaffRole.analyst})
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    cookie = f"sessionid={session.session_key}"
    port = _finance_data_free_port()
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
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**env, "PORTAL_BENCH_VIEWS": "1", "DATABASE_CONN_MAX_AGE": "60"},
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
        results = {}
        for name, path in {"bare": "/bench/bare-page/", **PAGES}.items():
            asyncio.run(drive(base + path, cookie, 20, args.concurrency))  # warm
            rate, latencies, failures = asyncio.run(drive(base + path, cookie, args.requests, args.concurrency))
            results[name] = (rate, p95(latencies), failures)
        worst = max(PAGES, key=lambda name: results[name][1])
        slowest_rate = min(results[name][0] for name in PAGES)
        report(
            "lists",
            results[worst][1],
            results["bare"][1],
            "ms (p95, worst list)",
            ratio=round(slowest_rate / results["bare"][0], 4),
            ours_rps=round(slowest_rate, 1),
            bare_rps=round(results["bare"][0], 1),
            p95_ms={name: round(results[name][1], 1) for name in PAGES},
            rps={name: round(results[name][0], 1) for name in PAGES},
            failures=sum(r[2] for r in results.values()),
            invoices=_finance_data.INVOICES,
            gunicorn_workers=args.workers,
            concurrency=args.concurrency,
            goal="ours <= 150, ratio (our requests/s ÷ the bare page's) >= 0.5",
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def _finance_data_free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
