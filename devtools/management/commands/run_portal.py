"""`make run`: the sandbox, the web server, a Celery worker with beat, demo data, one URL.

Every process is a child of this one; Ctrl-C (or any child dying) stops them all.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from billing.stripe.services import webhook_endpoint_register


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 — loopback only
            return response.status < 500
    except OSError:
        return False


def _port_free(port: int) -> bool:
    import socket

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

    def handle(self, *args, port: int, no_seed: bool, **options):
        self.children: list[subprocess.Popen] = []
        signal.signal(signal.SIGTERM, lambda *_: self.stop(0))
        try:
            self.run(port, seed=not no_seed)
        except KeyboardInterrupt:
            self.stop(0)
        except CommandError:
            self.stop(None)
            raise

    def spawn(self, *argv: str) -> subprocess.Popen:
        proc = subprocess.Popen(argv, cwd=settings.BASE_DIR, env=os.environ.copy(), start_new_session=True)
        self.children.append(proc)
        return proc

    def run(self, port: int, *, seed: bool) -> None:
        py = sys.executable
        if _answers(f"http://127.0.0.1:{port}/health/") or not _port_free(port):
            raise CommandError(f"port {port} is already in use (another `make run`?): stop it, or run with PORT=8001")
        var = Path(settings.VAR_DIR)
        (var / "celery" / "queue").mkdir(parents=True, exist_ok=True)
        (var / "celery" / "processed").mkdir(parents=True, exist_ok=True)
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
        )
        base_url = f"http://127.0.0.1:{port}"
        _wait_for(f"{base_url}/health/", 60, web)
        if settings.STRIPE_USES_SANDBOX:
            webhook_endpoint_register(url=f"{base_url}/stripe/webhook/")
            if seed:
                call_command("seed_demo", if_empty=True, stdout=self.stdout)
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

    def stop(self, code: int | None) -> None:
        for child in self.children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        self.children = []
        if code is not None:
            raise SystemExit(code)
