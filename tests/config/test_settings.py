import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PORTAL_HTTPS")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://db/portal"),
        ("DATABASE_URL", "not a url"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("STRIPE_SECRET_KEY", "pk_test_oops"),
        ("STRIPE_WEBHOOK_SECRET", "secret"),
        ("STRIPE_API_BASE", "ftp://example"),
        ("DEBUG", "maybe"),
        ("STRIPE_RATE_LIMIT_PER_SECOND", "fast"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(name, value):
    result = manage({name: value}, "check")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error:") and name in lines[0]


def test_a_secret_is_never_echoed_back():
    result = manage({"STRIPE_SECRET_KEY": "xx_live_supersecretvalue"}, "check")
    assert result.returncode == 2
    assert "supersecretvalue" not in result.stderr


def test_embedded_defaults_start(tmp_path):
    result = manage({"PORTAL_VAR_DIR": str(tmp_path)}, "check")
    assert result.returncode == 0, result.stderr
