"""Shared fixtures: a loopback-only network, the sandbox, people of every role, a real worker."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _plain_http() -> None:
    """Tests, and the workers, live servers and browsers they start, speak plain http on 127.0.0.1.
    pytest-django has read the settings before this file: switch child processes off by the
    environment, and this one by undoing what PORTAL_HTTPS turned on."""
    from django.conf import settings

    os.environ["PORTAL_HTTPS"] = "false"
    settings.SECURE_SSL_REDIRECT = settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER = 0, None


_plain_http()


from tests import netguard  # noqa: E402,F401  (installs the loopback-only guard)


# --- processes ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status < 500
    except OSError:
        return False


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def sandbox_url(tmp_path_factory):
    """A stripe_sandbox for the whole session, on a free loopback port."""
    from django.conf import settings

    port = free_port()
    state = tmp_path_factory.mktemp("sandbox") / "state.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_sandbox",
            "--port",
            str(port),
            "--state-file",
            str(state),
            "--api-version",
            settings.STRIPE_API_VERSION,
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(f"{url}/_sandbox/health") or proc.poll() is not None, 30, message="sandbox")
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox exited: {proc.stderr.read().decode()[-2000:]}")
        yield url
    finally:
        stop_process(proc)


@pytest.fixture
def sandbox(sandbox_url, settings):
    """Point the gateway at a freshly reset sandbox."""
    from billing.stripe import gateway as gateway_module

    req = urllib.request.Request(f"{sandbox_url}/_sandbox/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=5).close()
    settings.STRIPE_API_BASE = sandbox_url
    settings.STRIPE_SECRET_KEY = "sk_test_localsandbox0000000000000000"
    settings.STRIPE_USES_SANDBOX = True
    gateway_module.reset_gateway()
    yield sandbox_url
    gateway_module.reset_gateway()


@pytest.fixture
def sandbox_faults(sandbox):
    """Switch the sandbox's injected faults; cleared after the test."""
    import json

    def set_faults(**faults):
        body = json.dumps(faults).encode()
        req = urllib.request.Request(
            f"{sandbox}/_sandbox/faults", method="POST", data=body, headers={"Content-Type": "application/json"}
        )
        urllib.request.urlopen(req, timeout=5).close()

    yield set_faults
    set_faults(rate_limit=False, error_rate=0, timeout_rate=0, latency_ms=0)


@pytest.fixture(autouse=True)
def _isolated_caches(settings, monkeypatch):
    from billing.stripe import gateway as gateway_module
    from billing.stripe import intake

    settings.STRIPE_MAX_RETRIES = 2
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users
    from billing.stripe.upsert import known_rows

    intake.forget_webhook_secrets()
    gateway_module.reset_gateway()
    known_rows.forget()  # rows a committed test left in this process's memory are gone with its database
    # Query counts must not depend on whether a cached figure expired between two requests.
    monkeypatch.setattr("billing.stripe.context_processors.CACHE_SECONDS", 0)
    # Likewise cached list results (tests/test_listcache.py turns them on, under its own prefix).
    settings.LIST_CACHE_SECONDS = 0
    yield
    intake.forget_webhook_secrets()
    gateway_module.reset_gateway()
    known_rows.forget()


@pytest.fixture
def stripe_calls(monkeypatch):
    """Every request toward Stripe in this test, by our gateway or by any stripe-python caller
    (dj-stripe's own re-fetches): a list of (method, path). Calls still go through."""
    from stripe import _api_requestor

    from billing.stripe.gateway import StripeGateway

    calls: list[tuple[str, str]] = []
    gateway_request = StripeGateway.request
    sdk_request_raw = _api_requestor._APIRequestor.request_raw

    def counted_gateway(self, method, path, params, **kwargs):
        calls.append((method.upper(), path))
        return gateway_request(self, method, path, params, **kwargs)

    def counted_sdk(self, method, url, *args, **kwargs):
        if not calls or calls[-1] != (method.upper(), url):
            calls.append((method.upper(), url))
        return sdk_request_raw(self, method, url, *args, **kwargs)

    monkeypatch.setattr(StripeGateway, "request", counted_gateway)
    monkeypatch.setattr(_api_requestor._APIRequestor, "request_raw", counted_sdk)
    return calls


# --- people ---------------------------------------------------------------------------------
@pytest.fixture
def people(db):
    """An owner and a member of one customer, an outsider customer, and finance staff of each role."""
    from django.contrib.auth import get_user_model

    from accounts.models import MemberRole, Membership, Organisation, StaffProfile, StaffRole

    User = get_user_model()
    acme = Organisation.objects.create(
        name="Acme", slug="acme", country="DE", billing_email="billing@acme.example", stripe_customer_id="cus_acme"
    )
    globex = Organisation.objects.create(
        name="Globex",
        slug="globex",
        country="US",
        billing_email="billing@globex.example",
        stripe_customer_id="cus_globex",
    )

    def user(name: str) -> object:
        return User.objects.create_user(username=name, email=f"{name}@example.com", password="pw-for-tests-1")

    owner, member, outsider = user("owner"), user("member"), user("outsider")
    Membership.objects.create(user=owner, organisation=acme, role=MemberRole.owner)
    Membership.objects.create(user=member, organisation=acme, role=MemberRole.member)
    Membership.objects.create(user=outsider, organisation=globex, role=MemberRole.owner)
    staff = {}
    for role in StaffRole:
        staff[role.value] = user(f"finance-{role.value}")
        StaffProfile.objects.create(user=staff[role.value], role=role)
    return type(
        "People",
        (),
        {
            "acme": acme,
            "globex": globex,
            "owner": owner,
            "member": member,
            "outsider": outsider,
            "admin": staff["admin"],
            "analyst": staff["analyst"],
            "support": staff["support"],
        },
    )


# --- a real Celery worker on the configured broker (Redis in CI) ------------------------------
def database_url_for_subprocess() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db, settings, tmp_path):
    """A real `celery worker` process on the test database and the configured broker."""
    with start_worker(settings, tmp_path / "worker.log") as worker:
        yield worker


@contextlib.contextmanager
def start_worker(settings, log: Path, concurrency: int = 2):
    """Start `celery worker` on the test database; stop it (and its children) on exit."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "PORTAL_VAR_DIR": str(settings.VAR_DIR),
        "STRIPE_API_BASE": settings.STRIPE_API_BASE,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                settings.CELERY_QUEUES_ALL,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--prefetch-multiplier",
                "4",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: b"ready." in log.read_bytes() or proc.poll() is not None, 60, message="celery worker")
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited: {log.read_text()[-3000:]}")
        yield type("Worker", (), {"proc": proc, "log": log})
    finally:
        stop_process(proc)
