"""A currency launch of 2,000 prices against the sandbox with its rate limit on (Stripe's 25
requests/s per endpoint, answered 429 as Stripe does) and the portal's shared limiter at R
(STRIPE_RATE_LIMIT_PER_SECOND), run by a real Celery worker as in production.

- ours: prices created per second, wall clock from `launch_start` to the launch being live;
- baseline: R, the most the limiter lets through; ratio = ours ÷ R (goal ≥ 0.85);
- errors_429: requests the sandbox answered 429 during the launch (goal 0);
- duplicates_on_rerun: prices created by running the same launch again with every row forgotten
  (state, Stripe id and attempts reset, so only the rows' idempotency keys stand between the job and
  a second price) — counted in the sandbox's own price list (goal 0).

    python benchmarks/currency_launch.py [--prices 2000] [--rate 20]

Uses DATABASE_URL / REDIS_URL when set (a throwaway database; the goal is for PostgreSQL + Redis).
Without Redis the limiter is per process, so the worker runs one process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from _common import ROOT, bench_env, build_schema, report, setup_django, throwaway_database

API_KEY = "sk_test_localsandbox0000000000000000"


class Sandbox:
    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stripe_sandbox", "--port", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{self.url}/_sandbox/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)

    def health(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/_sandbox/health", timeout=5) as response:
            return json.loads(response.read())

    def faults(self, **faults) -> None:
        request = urllib.request.Request(
            f"{self.url}/_sandbox/faults",
            data=json.dumps(faults).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=5).close()

    def post(self, path: str, params: dict, key: str) -> dict:
        from urllib.parse import urlencode

        request = urllib.request.Request(
            f"{self.url}{path}",
            data=urlencode(params).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": key},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def prices(self, currency: str) -> list[dict]:
        found, after = [], None
        while True:
            query = f"limit=100&currency={currency}" + (f"&starting_after={after}" if after else "")
            request = urllib.request.Request(
                f"{self.url}/v1/prices?{query}", headers={"Authorization": f"Bearer {API_KEY}"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                page = json.loads(response.read())
            found += page["data"]
            if not page["has_more"]:
                return found
            after = page["data"][-1]["id"]

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)


def make_catalog(sandbox: Sandbox, prices: int) -> None:
    """`prices` USD prices (monthly and annual per product), sent before the rate limit is on."""
    products = (prices + 1) // 2

    def one(n: int) -> None:
        product = sandbox.post("/v1/products", {"name": f"Plan {n:04d}"}, f"bench:product:{n}")
        for interval, amount in (("month", 500 + n), ("year", (500 + n) * 10)):
            if n * 2 + (interval == "year") >= prices:
                continue
            sandbox.post(
                "/v1/prices",
                {
                    "product": product["id"],
                    "currency": "usd",
                    "unit_amount": amount,
                    "recurring[interval]": interval,
                    "lookup_key": f"plan{n:04d}_{interval}ly_usd",
                },
                f"bench:price:{n}:{interval}",
            )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(products)))


def mirror_catalog() -> None:
    from billing.stripe import mirror
    from billing.stripe.gateway import gateway

    client = gateway()
    mirror.apply_page(list(client.list_all("/v1/products")))
    mirror.apply_page(list(client.list_all("/v1/prices")))


def start_worker(env: dict, log_path: str, concurrency: int) -> subprocess.Popen:
    out = open(log_path, "wb")  # noqa: SIM115 — kept open for the worker's lifetime
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "stripe,default",
            "--concurrency", str(concurrency), "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    time.sleep(4)
    return proc


def wait_for(status: str, launch_id: int, timeout: float) -> float:
    from billing.currencies.models import Launch

    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if Launch.objects.filter(pk=launch_id).values_list("status", flat=True).first() == status:
            return time.perf_counter()
        time.sleep(0.1)
    raise SystemExit(f"the launch did not reach {status} in {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prices", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=20, help="R: the portal's limiter, requests/s per endpoint")
    args = parser.parse_args()

    sandbox = Sandbox()
    database_url, drop = throwaway_database()
    redis = os.environ.get("REDIS_URL")
    concurrency = 2 if redis else 1  # without Redis each process has its own limiter
    env = bench_env(
        database_url,
        STRIPE_API_BASE=sandbox.url,
        STRIPE_RATE_LIMIT_PER_SECOND=str(args.rate),
        CURRENCY_LAUNCH_WORKERS=str(concurrency),
        CURRENCY_LAUNCH_PAUSE_SECONDS="2",
        CELERY_KEY_PREFIX=f"bench-{uuid.uuid4().hex[:8]}:",
        LOG_LEVEL="WARNING",
    )
    worker = None
    try:
        build_schema(env)
        setup_django(env)
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.utils import timezone

        from accounts.models import StaffProfile, StaffRole
        from billing.currencies import launches
        from billing.currencies.models import FxRate, Launch, LaunchRow, LaunchStatus

        make_catalog(sandbox, args.prices)
        mirror_catalog()
        User = get_user_model()
        first, second = (User.objects.create(username=f"finance-admin-{n}") for n in (1, 2))
        for user in (first, second):
            StaffProfile.objects.create(user=user, role=StaffRole.admin)
        FxRate.objects.create(currency="jpy", quote="usd", rate="0.0067", day=timezone.now().date(), source="bench")
        launch = launches.launch_create(currency="jpy", countries=["JP"], actor=first, charm_ending="0")
        launches.launch_preview(launch=launch, actor=first)
        launches.launch_approve(launch=launch, actor=second)
        total = launch.rows.count()
        assert total == args.prices, total

        worker = start_worker(env, os.path.join(env["PORTAL_VAR_DIR"], "worker.log"), concurrency)
        sandbox.faults(rate_limit=True)
        limited_before = sandbox.health()["rate_limited"]
        started = time.perf_counter()
        launches.launch_start(launch=launch, actor=first)
        finished = wait_for(LaunchStatus.live, launch.pk, timeout=args.prices / args.rate * 3 + 60)
        elapsed = finished - started
        errors_429 = sandbox.health()["rate_limited"] - limited_before
        created = len(sandbox.prices("jpy"))

        # The same launch again, every row forgotten: only the idempotency keys prevent a second price.
        LaunchRow.objects.filter(launch=launch).update(state="pending", stripe_price_id="", attempts=0)
        Launch.objects.filter(pk=launch.pk).update(status=LaunchStatus.running, heartbeat_at=timezone.now())
        launches.kick(launch.pk)
        wait_for(LaunchStatus.live, launch.pk, timeout=args.prices / args.rate * 3 + 60)
        duplicates = len(sandbox.prices("jpy")) - created
        # And as a person would: starting it again is refused.
        try:
            launches.launch_start(launch=Launch.objects.get(pk=launch.pk), actor=first)
        except launches.LaunchError:
            pass
        connection.close()
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        sandbox.stop()
        drop()

    report(
        "currency_launch",
        total / elapsed,
        float(args.rate),
        "prices/s",
        prices=total,
        created=created,
        seconds=round(elapsed, 2),
        errors_429=errors_429,
        duplicates_on_rerun=duplicates,
        workers=concurrency,
        database="postgresql" if database_url.startswith("postgres") else "sqlite",
        redis=bool(redis),
        goal="ratio >= 0.85, errors_429 = 0, duplicates_on_rerun = 0",
    )


if __name__ == "__main__":
    main()
