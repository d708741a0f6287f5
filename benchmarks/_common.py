"""Shared set-up for the benchmarks: a throwaway database, query counting, the closing JSON line."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import netguard  # noqa: E402,F401  (benchmarks, too, stay on 127.0.0.1)

# What `GET /v1/account` answers in the loopback stand-ins for Stripe (dj-stripe asks for it).
ACCOUNT = {
    "id": "acct_bench",
    "object": "account",
    "business_profile": {"name": "Bench"},
    "country": "US",
    "default_currency": "usd",
    "email": None,
    "settings": {},
    "type": "standard",
    "charges_enabled": True,
    "payouts_enabled": True,
    "details_submitted": True,
    "metadata": {},
    "created": 1_700_000_000,
}


def throwaway_database() -> tuple[str, callable]:
    """A fresh database on DATABASE_URL's server (or a temp SQLite file): (url, drop)."""
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"bench_{uuid.uuid4().hex[:10]}"
        server, _, _ = base.rpartition("/")
        admin = psycopg.connect(f"{server}/postgres", autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')

        def drop():
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()

        return f"{server}/{name}", drop
    path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    var_dir = tempfile.mkdtemp(prefix="portal-bench-")
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORTAL_SCHEMA_WITHOUT_MIGRATIONS": "1",
        "PORTAL_VAR_DIR": var_dir,
        "PORTAL_HTTPS": "false",  # plain http on 127.0.0.1
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **extra,
    }


def build_schema(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--run-syncdb", "-v0"], cwd=ROOT, env=env, check=True)


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextlib.contextmanager
def count_queries():
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


def report(benchmark: str, ours: float, baseline: float, unit: str, **figures):
    """The closing line: `ratio` is always ours ÷ baseline (for a cost, below 1 is better)."""
    ratio = ours / baseline if baseline else 0.0
    print(
        json.dumps(
            {
                "benchmark": benchmark,
                "ours": round(ours, 3),
                "baseline": round(baseline, 3),
                "ratio": round(ratio, 4),
                "unit": unit,
                **figures,
            }
        )
    )


def timer():
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
