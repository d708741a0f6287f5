"""`make run`'s supervisor: ready means caught up, and nothing outlives it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.slow


def _env(var: Path, sandbox_port: int) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    # The embedded default, as `make run` has it; the schema straight from the models (no minute of migrations).
    return {
        **clean,
        "PORTAL_VAR_DIR": str(var),
        "STRIPE_SANDBOX_PORT": str(sandbox_port),
        "PORTAL_SCHEMA_WITHOUT_MIGRATIONS": "1",
    }


def _processes_of(var: Path) -> list[int]:
    """Processes whose environment names this test's var dir: the supervisor's children."""
    found = []
    marker = f"PORTAL_VAR_DIR={var}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Portal:
    def __init__(self, tmp_path: Path, *args: str):
        self.var = tmp_path / "var"
        self.env = _env(self.var, free_port())
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--run-syncdb", "-v0"], cwd=ROOT, env=self.env, check=True
        )
        self.log = tmp_path / "run_portal.log"
        self.out = open(self.log, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_portal", "--port", str(free_port()), *args],
            cwd=ROOT,
            env=self.env,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_for(self, text: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.log.read_text(errors="replace")
            if text in output:
                return output
            assert self.proc.poll() is None, output[-3000:]
            time.sleep(0.5)
        raise AssertionError(f"{text!r} never printed:\n{self.log.read_text()[-3000:]}")

    def cleanup(self) -> None:
        for pid in _processes_of(self.var):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.out.close()


def _gone(var: Path, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = _processes_of(var)
        if not left:
            return []
        time.sleep(0.3)
    return _processes_of(var)


def test_term_then_kill_to_the_group_leaves_no_process_behind(tmp_path):
    portal = Portal(tmp_path, "--no-seed")
    try:
        portal.wait_for("Billing portal:")
        assert len(_processes_of(portal.var)) >= 4  # supervisor, sandbox, gunicorn, celery (+ their workers)
        os.killpg(portal.proc.pid, signal.SIGTERM)  # what the probe did: TERM the group, KILL it 3 s later
        time.sleep(3)
        try:
            os.killpg(portal.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        assert _gone(portal.var, 5) == []
    finally:
        portal.cleanup()


def test_term_to_the_supervisor_alone_stops_everything_in_bounded_time(tmp_path):
    portal = Portal(tmp_path, "--no-seed")
    try:
        portal.wait_for("Billing portal:")
        started = time.monotonic()
        portal.proc.send_signal(signal.SIGTERM)
        portal.proc.wait(timeout=20)
        assert _gone(portal.var, 5) == []
        assert time.monotonic() - started < 15
    finally:
        portal.cleanup()


def test_a_killed_supervisor_takes_its_children_with_it(tmp_path):
    portal = Portal(tmp_path, "--no-seed")
    try:
        portal.wait_for("Billing portal:")
        portal.proc.kill()  # no chance to stop anything itself
        assert _gone(portal.var, 15) == []
    finally:
        portal.cleanup()


def test_ready_is_printed_only_once_every_event_is_applied(tmp_path):
    portal = Portal(tmp_path, "--organisations", "3")
    try:
        output = portal.wait_for("Billing portal:", timeout=600)
        assert "demo data ready" in output
        with sqlite3.connect(portal.var / "portal.sqlite3") as db:
            applied, waiting = db.execute(
                "SELECT SUM(status IN ('applied', 'ignored')), SUM(status IN ('received', 'processing')) "
                "FROM billing_stripe_stripeevent"
            ).fetchone()
        assert applied > 50 and not waiting
    finally:
        portal.proc.send_signal(signal.SIGTERM)
        portal.proc.wait(timeout=30)
        portal.cleanup()
