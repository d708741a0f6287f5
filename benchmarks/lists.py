"""The finance lists at Slack's size: invoices, subscriptions and customers, each with a filter.

On PostgreSQL with 1.3 million invoices (benchmarks/_finance_data.py), under gunicorn, driven by
concurrent loopback clients logged in as an analyst. `ours`: the worst p95 ms of the three pages.
`ratio`: our requests/s (the slowest page) ÷ a bare page's on the same server (the same
middleware and session, no work) — what a list costs beyond simply answering. Clients hold the
session and CSRF cookies a browser holds after its first page, so a list seen again comes from the
list cache (billing/ui/listcache.py, with REDIS_URL); `uncached_*`: the same pages rendered every
time (a second server with LIST_CACHE_SECONDS=0), what a list costs the first time it is seen.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
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
    async with aiohttp.ClientSession(headers={"Cookie": cookie}, cookie_jar=aiohttp.DummyCookieJar()) as session:

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
    cached = measure(env, cookie, args)
    uncached = measure({**env, "LIST_CACHE_SECONDS": "0"}, cookie, args, bare=False)
    worst = max(PAGES, key=lambda name: cached[name][1])
    slowest_rate = min(cached[name][0] for name in PAGES)
    uncached_worst = max(uncached[name][1] for name in PAGES)
    report(
        "lists",
        cached[worst][1],
        cached["bare"][1],
        "ms (p95, worst list)",
        ratio=round(slowest_rate / cached["bare"][0], 4),
        ours_rps=round(slowest_rate, 1),
        bare_rps=round(cached["bare"][0], 1),
        p95_ms={name: round(cached[name][1], 1) for name in PAGES},
        rps={name: round(cached[name][0], 1) for name in PAGES},
        list_cache=bool(os.environ.get("REDIS_URL")),
        uncached_p95_ms={name: round(uncached[name][1], 1) for name in PAGES},
        uncached_worst_p95_ms=round(uncached_worst, 1),
        uncached_ratio=round(min(uncached[name][0] for name in PAGES) / cached["bare"][0], 4),
        failures=sum(r[2] for r in [*cached.values(), *uncached.values()]),
        invoices=_finance_data.INVOICES,
        gunicorn_workers=args.workers,
        concurrency=args.concurrency,
        goal="ours <= 150, ratio (our requests/s ÷ the bare page's) >= 0.5",
    )


def measure(env: dict, cookie: str, args, *, bare: bool = True) -> dict[str, tuple[float, float, int]]:
    """(requests/s, p95 ms, failures) per page under one gunicorn; the bare page before and after the
    lists (their mean: the machine's drift during the run touches both sides alike)."""
    port = _finance_data_free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", str(args.workers), "--log-level", "warning"],
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
        # Like a browser after its first page: the session cookie and the CSRF cookie that page set.
        request = urllib.request.Request(base + PAGES["invoices"], headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=60) as response:
            csrf = [v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("csrftoken=")]
        cookie += "; " + csrf[0].split(";")[0]
        bare_page = [("bare", "/bench/bare-page/")] if bare else []
        order = [*bare_page, *PAGES.items(), *bare_page]
        results: dict[str, list] = {}
        for name, path in order:
            asyncio.run(drive(base + path, cookie, 20, args.concurrency))  # warm
            rate, latencies, failures = asyncio.run(drive(base + path, cookie, args.requests, args.concurrency))
            results.setdefault(name, []).append((rate, p95(latencies), failures))
        return {
            name: (statistics.mean(r[0] for r in runs), max(r[1] for r in runs), sum(r[2] for r in runs))
            for name, runs in results.items()
        }
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
