"""A dunning sweep of 10,000 past-due invoices against the sandbox with Stripe's rate limit switched on.

Ours: real Celery workers drain the sweep through the shared limiter set to R requests/s. The
baseline is the same sweep of another 10,000 invoices, unthrottled (the limiter out of the way), in
the same run, for `--baseline-seconds`: it shows what the limiter saves (429s). Each invoice must be
charged exactly once for its step: the sandbox's charge list is counted per customer.

    python benchmarks/dunning_sweep.py [--invoices 10000] [--rate 20] [--baseline-seconds 60]

Prints `ours` (attempts/s), `baseline` (R), `ratio`, `errors_429`, `baseline_errors_429`,
`duplicates` (invoices charged twice), and the timings. Goal: ratio >= 0.85, errors_429 = 0,
duplicates = 0, and the unthrottled baseline shows 429s. Uses DATABASE_URL / REDIS_URL when set
(PostgreSQL + Redis is the production set-up; without Redis one worker process with threads).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import ROOT, bench_env, build_schema, report, setup_django, throwaway_database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def control(url: str, path: str, body: dict | None = None, *, timeout: float = 600) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{url}{path}",
        data=data,
        method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def start_sandbox(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_sandbox", "--port", str(port), "--api-version", "2026-08-26.dahlia"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            control(f"http://127.0.0.1:{port}", "/_sandbox/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the sandbox did not start")


def start_workers(env: dict, *, processes: int, concurrency: int, log_dir: Path, name: str) -> list[subprocess.Popen]:
    pool = ["--concurrency", str(concurrency)]
    if not env.get("REDIS_URL"):
        processes, pool = 1, ["--pool", "threads", "--concurrency", str(concurrency)]  # one process: one limiter
    workers = []
    for n in range(processes):
        log = open(log_dir / f"{name}-{n}.log", "wb")  # noqa: SIM115 — closed with the process
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-Q",
                    "stripe,default",
                    *pool,
                    "--hostname",
                    f"{name}{n}@%h",
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--prefetch-multiplier",
                    "4",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # every worker connected and its pool forked
        if all(b"ready." in (log_dir / f"{name}-{n}.log").read_bytes() for n in range(len(workers))):
            break
        time.sleep(0.5)
    time.sleep(2)
    return workers


def stop(processes: list[subprocess.Popen]) -> None:
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def load_cases(sandbox_url: str, count: int, prefix: str, *, due: bool = True) -> dict:
    """Past-due invoices in the sandbox (quietly, in bulk), mirrored, each with a dunning case due now."""
    from django.utils import timezone

    from billing.dunning.models import Case
    from billing.dunning.policies import default_policy
    from billing.stripe import mirror
    from billing.stripe.gateway import gateway

    made = {"customers": [], "invoices": []}
    for start in range(0, count, 2500):
        chunk = control(
            sandbox_url,
            "/_sandbox/fixtures/past_due_invoices",
            {"count": min(2500, count - start), "events": False, "auto_advance": False, "prefix": f"{prefix}{start}"},
        )
        made["customers"] += chunk["customers"]
        made["invoices"] += chunk["invoices"]
    wanted_customers, wanted_invoices = set(made["customers"]), set(made["invoices"])
    client = gateway()
    for kind, wanted, params in (
        ("customers", wanted_customers, {}),
        ("invoices", wanted_invoices, {"status": "open"}),
    ):
        objects = [o for o in client.list_all(f"/v1/{kind}", **params) if o["id"] in wanted]
        for start in range(0, len(objects), 500):
            mirror.apply_page(objects[start : start + 500])
    policy = default_policy()
    # The baseline's cases wait (due in a year) until its own sweep: ours must not sweep them.
    opened = timezone.now() - dt.timedelta(days=1, minutes=5) + (dt.timedelta(0) if due else dt.timedelta(days=365))
    Case.objects.bulk_create(
        [
            Case(
                invoice_id=invoice_id,
                customer_id=customer_id,
                policy=policy,
                currency="usd",
                amount_due=2500,
                opened_at=opened,
                next_attempt_at=opened + dt.timedelta(days=1),
                stripe_retries_off=True,
            )
            for invoice_id, customer_id in zip(made["invoices"], made["customers"], strict=True)
        ],
        batch_size=2000,
    )
    return made


def charged_twice(customers: list[str]) -> int:
    from billing.stripe.gateway import gateway

    counts = collections.Counter(charge["customer"] for charge in gateway().list_all("/v1/charges"))
    return sum(1 for customer in customers if counts[customer] > 2)  # the first failure + one attempt


def sweep_and_wait(invoices: list[str], *, limit_seconds: float | None) -> tuple[int, float]:
    """Run the sweep, wait until every attempt is made (or the time is up); (made, seconds)."""
    from django.db.models import Max, Min

    from billing.dunning import engine
    from billing.dunning.models import Attempt, AttemptStatus

    mine = Attempt.objects.filter(case__invoice_id__in=invoices)
    started = time.monotonic()
    engine.sweep(batch=2000)
    while True:
        pending = mine.filter(status__in=[AttemptStatus.queued, AttemptStatus.sending]).count()
        if not pending or (limit_seconds and time.monotonic() - started > limit_seconds):
            break
        time.sleep(1)
    done = mine.exclude(status__in=[AttemptStatus.queued, AttemptStatus.sending])
    span = done.aggregate(first=Min("first_sent_at"), last=Max("completed_at"))
    seconds = (span["last"] - span["first"]).total_seconds() if span["first"] and span["last"] else 0.0
    return done.count(), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=20, help="R: the portal's limiter, requests/s per endpoint")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--baseline-seconds", type=float, default=60.0)
    args = parser.parse_args()

    database_url, drop = throwaway_database()
    port = free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    log_dir = Path(tempfile.mkdtemp(prefix="dunning-bench-"))
    extra = {
        "STRIPE_API_BASE": sandbox_url,
        "STRIPE_SANDBOX_PORT": str(port),
        "STRIPE_RATE_LIMIT_PER_SECOND": str(args.rate),
        "STRIPE_MAX_RETRIES": "4",
        "EMAIL_URL": f"file://{log_dir / 'mail'}",
        "CELERY_KEY_PREFIX": f"bench-dunning-{port}:",
        "LOG_LEVEL": "WARNING",
    }
    env = bench_env(database_url, **extra)
    sandbox = start_sandbox(port)
    workers: list[subprocess.Popen] = []
    try:
        build_schema(env)
        setup_django(env)
        print(f"making {args.invoices:,} past-due invoices twice (ours, then the baseline)…", file=sys.stderr)
        ours_set = load_cases(sandbox_url, args.invoices, "ours")
        base_set = load_cases(sandbox_url, args.invoices, "base", due=False)
        control(sandbox_url, "/_sandbox/faults", {"rate_limit": True})

        workers = start_workers(
            env, processes=args.processes, concurrency=args.concurrency, log_dir=log_dir, name="ours"
        )
        before = control(sandbox_url, "/_sandbox/health")["rate_limited"]
        made, seconds = sweep_and_wait(ours_set["invoices"], limit_seconds=None)
        errors_429 = control(sandbox_url, "/_sandbox/health")["rate_limited"] - before
        stop(workers)
        ours = made / seconds if seconds else 0.0
        print(f"ours: {made:,} attempts in {seconds:.1f} s, {errors_429} 429s", file=sys.stderr)

        unthrottled = {**env, "STRIPE_RATE_LIMIT_PER_SECOND": "100000", "STRIPE_RATE_LIMIT_BURST": "100000"}
        workers = start_workers(
            unthrottled, processes=args.processes, concurrency=args.concurrency, log_dir=log_dir, name="base"
        )
        from django.db.models import F

        from billing.dunning.models import Case

        year = dt.timedelta(days=365)
        Case.objects.filter(invoice_id__in=base_set["invoices"]).update(
            opened_at=F("opened_at") - year, next_attempt_at=F("next_attempt_at") - year
        )
        before = control(sandbox_url, "/_sandbox/health")["rate_limited"]
        base_made, base_seconds = sweep_and_wait(base_set["invoices"], limit_seconds=args.baseline_seconds)
        stop(workers)
        baseline_429 = control(sandbox_url, "/_sandbox/health")["rate_limited"] - before
        print(f"baseline: {base_made:,} attempts in {base_seconds:.1f} s, {baseline_429} 429s", file=sys.stderr)

        control(sandbox_url, "/_sandbox/faults", {"rate_limit": False})
        duplicates = charged_twice(ours_set["customers"])
        baseline_duplicates = charged_twice(base_set["customers"])
    finally:
        stop(workers)
        stop([sandbox])
        if "django" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
            from django.db import connections

            connections.close_all()
        drop()

    report(
        "dunning_sweep",
        ours,
        float(args.rate),
        "attempts/s",
        errors_429=errors_429,
        baseline_errors_429=baseline_429,
        duplicates=duplicates,
        baseline_duplicates=baseline_duplicates,
        invoices=args.invoices,
        attempts=made,
        seconds=round(seconds, 1),
        baseline_attempts=base_made,
        baseline_seconds=round(base_seconds, 1),
        baseline_rate=round(base_made / base_seconds, 1) if base_seconds else 0.0,
    )


if __name__ == "__main__":
    main()
