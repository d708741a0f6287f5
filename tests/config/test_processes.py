"""The Procfile's processes start on a fresh host."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="beat with a Redis broker needs REDIS_URL")
def test_beat_starts_with_a_var_dir_that_does_not_exist_yet(tmp_path):
    var_dir = tmp_path / "fresh" / "var"
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "SECRET_KEY": "x" * 50,
        "PORTAL_VAR_DIR": str(var_dir),
        "CELERY_KEY_PREFIX": "beat-test:",
        "DATABASE_URL": "postgres://beat@127.0.0.1:1/unused",  # beat never opens it; SQLite would make var/
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not list(var_dir.glob("celerybeat-schedule*")):
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            time.sleep(0.2)
        assert list(var_dir.glob("celerybeat-schedule*")), "beat never wrote its schedule"
        time.sleep(1)
        assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
