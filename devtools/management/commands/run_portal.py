"""`make run`: the sandbox, the web server, a Celery worker with beat, demo data, one URL.

Every process is a child of this one, in its process group, and dies with it (Linux's parent-death
signal): Ctrl-C, a TERM to the group, or this process being killed stops them all. Stopping is
bounded: TERM, then Celery's cold shutdown, then KILL.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation
from billing.stripe.models import EventStatus, StripeEvent
from billing.stripe.services import webhook_endpoint_register

PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 6  # then a cold shutdown, then 2 s more, then KILL


def _die_with_parent() -> None:
    """In the child before exec: receive SIGTERM when this supervisor dies, however it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the shared process group still carries a stop to every child


def _descendants(root: int) -> list[int]:
    """Every process below `root` (children, their pool workers), read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 — loopback only
            return response.status < 500
    except OSError:
        return False


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 — loopback only
        return json.loads(response.read())


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for(url: str, seconds: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _answers(url):
            return
        if proc is not None and proc.poll() is not None:
            raise CommandError(f"{' '.join(proc.args[:3])} exited with {proc.returncode}")
        time.sleep(0.2)
    raise CommandError(f"{url} did not answer within {seconds:.0f} s")


class Command(BaseCommand):
    help = "Run the whole portal locally: sandbox, web, worker + beat; seed demo data once."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-seed", action="store_true")
        parser.add_argument("--organisations", type=int, default=64, help="Size of the demo (first run only).")

    def handle(self, *args, port: int, no_seed: bool, organisations: int, **options):
        self.children: list[subprocess.Popen] = []
        signal.signal(signal.SIGTERM, lambda *_: self.stop(0))
        signal.signal(signal.SIGHUP, lambda *_: self.stop(0))
        try:
            self.run(port, seed=not no_seed, organisations=organisations)
        except KeyboardInterrupt:
            self.stop(0)
        except CommandError:
            self.stop(None)
            raise

    def spawn(self, *argv: str) -> subprocess.Popen:
        # Same process group as this supervisor: a stop sent to the group reaches every child.
        env = {**os.environ, "PORTAL_HTTPS": os.environ.get("PORTAL_HTTPS", "false")}
        proc = subprocess.Popen(argv, cwd=settings.BASE_DIR, env=env, preexec_fn=_die_with_parent)  # noqa: PLW1509
        self.children.append(proc)
        return proc

    def run(self, port: int, *, seed: bool, organisations: int) -> None:
        py = sys.executable
        if _answers(f"http://127.0.0.1:{port}/health/") or not _port_free(port):
            raise CommandError(f"port {port} is already in use (another `make run`?): stop it, or run with PORT=8001")
        var = Path(settings.VAR_DIR)
        for folder in ("queue", "processed", "control"):
            (var / "celery" / folder).mkdir(parents=True, exist_ok=True)
        if settings.STRIPE_USES_SANDBOX:
            sandbox_url = settings.STRIPE_API_BASE
            if _answers(f"{sandbox_url}/_sandbox/health"):
                self.stdout.write(f"stripe_sandbox already running at {sandbox_url}")
            else:
                (var / "sandbox").mkdir(parents=True, exist_ok=True)
                proc = self.spawn(
                    py,
                    "-m",
                    "stripe_sandbox",
                    "--port",
                    str(settings.STRIPE_SANDBOX_PORT),
                    "--state-file",
                    str(var / "sandbox" / "state.json"),
                    "--api-version",
                    settings.STRIPE_API_VERSION,
                )
                _wait_for(f"{sandbox_url}/_sandbox/health", 30, proc)
        # gunicorn, as in production (the Procfile), bound to loopback; static files through WhiteNoise.
        web = self.spawn(
            py,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "60",
            "--graceful-timeout",
            "3",
            "--log-level",
            "warning",
        )
        self.spawn(
            py,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-B",
            "-Q",
            settings.CELERY_QUEUES_ALL,
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        )
        base_url = f"http://127.0.0.1:{port}"
        _wait_for(f"{base_url}/health/", 60, web)
        if settings.STRIPE_USES_SANDBOX:
            webhook_endpoint_register(url=f"{base_url}/stripe/webhook/")
            seeded = seed and not Organisation.objects.exists()
            if seeded:
                call_command("seed_demo", organisations=organisations, base_url=base_url, stdout=self.stdout)
            if seeded:
                self.wait_until_caught_up(settings.STRIPE_API_BASE, announce=False)
                call_command("demo_finish", stdout=self.stdout)
            # The demo's last steps (retries, voids) make Stripe send more events: ready once they are in too.
            self.wait_until_caught_up(settings.STRIPE_API_BASE)
        self.stdout.write(self.style.SUCCESS(f"\nBilling portal: {base_url}/"))
        logins_file = var / "demo_logins.json"
        if settings.STRIPE_USES_SANDBOX and logins_file.exists():
            self.stdout.write("Demo logins:")
            for login in json.loads(logins_file.read_text()):
                self.stdout.write(f"  {login['username']:<40} {login['password']}   ({login['role']})")
        self.stdout.write("Django admin: /admin/ (finance-admin). Ctrl-C stops everything.\n")
        while True:
            for child in self.children:
                if child.poll() is not None:
                    self.stderr.write(f"{' '.join(child.args[:4])} exited with {child.returncode}; stopping")
                    self.stop(1)
            time.sleep(0.5)

    def wait_until_caught_up(self, sandbox_url: str, timeout: float = 900, announce: bool = True) -> None:
        """Ready means the mirror holds what Stripe sent: every webhook delivered and applied."""
        deadline = time.monotonic() + timeout
        shown = None
        while time.monotonic() < deadline:
            try:
                pending = _json(f"{sandbox_url}/_sandbox/health").get("deliveries_pending", 0)
            except OSError:  # a busy sandbox (saving a large state) answers late: ask again
                time.sleep(1)
                continue
            waiting = StripeEvent.objects.filter(status__in=[EventStatus.received, EventStatus.processing]).count()
            if not pending and not waiting:
                if announce:
                    self.stdout.write("demo data ready: every Stripe event is in the mirror")
                return
            line = f"catching up: {pending} webhook(s) to deliver, {waiting} event(s) to apply"
            if line != shown:
                self.stdout.write(line)
                shown = line
            for child in self.children:
                if child.poll() is not None:
                    raise CommandError(f"{' '.join(child.args[:4])} exited with {child.returncode}")
            time.sleep(1)
        self.stdout.write("still catching up; the pages show a banner until the mirror is current")

    def stop(self, code: int | None) -> None:
        alive = [c for c in self.children if c.poll() is None]
        for child in alive:
            child.send_signal(signal.SIGTERM)
        self._wait(alive, STOP_GRACE_SECONDS)
        for child in alive:
            if child.poll() is None:
                child.send_signal(signal.SIGQUIT)  # Celery: cold shutdown, without waiting for tasks
        self._wait(alive, 2)
        for pid in _descendants(os.getpid()):  # pool processes included, whatever their parent did
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._wait(alive, 2)
        self.children = []
        if code is not None:
            raise SystemExit(code)

    @staticmethod
    def _wait(children: list[subprocess.Popen], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for child in children:
            try:
                child.wait(timeout=max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
