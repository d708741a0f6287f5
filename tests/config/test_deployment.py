"""Production-like settings pass Django's deployment checks; local state files are private."""

import json
import os
import secrets
import stat

import pytest

from tests.config.test_settings import manage

PRODUCTION = {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "billing.example.com", "DEBUG": "0"}
SHOW = "from django.conf import settings as s; import json; print(json.dumps([{names}]))"


def settings_in(env: dict[str, str], *names: str) -> list:
    result = manage(env, "shell", "-v", "0", "-c", SHOW.format(names=", ".join(f"s.{n}" for n in names)))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = manage({**PRODUCTION, "PORTAL_VAR_DIR": str(tmp_path)}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


HTTPS = (
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
)


def test_https_is_on_without_debug_and_one_switch_turns_it_off_for_make_run(tmp_path):
    env = {**PRODUCTION, "PORTAL_VAR_DIR": str(tmp_path)}
    assert settings_in(env, *HTTPS) == [True, True, True, 31_536_000, True, True, ["HTTP_X_FORWARDED_PROTO", "https"]]
    assert settings_in({**env, "PORTAL_HTTPS": "false"}, *HTTPS) == [False, False, False, 0, False, False, None]
    assert settings_in({**env, "DEBUG": "1"}, *HTTPS)[0] is False
    tuned = {"SECURE_HSTS_SECONDS": "600", "SECURE_HSTS_PRELOAD": "no", "SECURE_PROXY_SSL_HEADER": "X-Scheme"}
    assert settings_in({**env, **tuned}, *HTTPS)[3:] == [600, True, False, ["HTTP_X_SCHEME", "https"]]


@pytest.mark.django_db
def test_with_https_on_plain_http_redirects_except_the_health_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/login/")
    assert response.status_code == 301 and response.url == "https://testserver/login/"
    assert client.get("/health/").status_code == 200
    assert client.get("/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    assert manage({"PORTAL_VAR_DIR": str(tmp_path)}, "check").returncode == 0
    assert mode(tmp_path / "portal.sqlite3") == 0o600
    (tmp_path / "portal.sqlite3").chmod(0o644)  # as an older version left it: world-readable
    assert manage({"PORTAL_VAR_DIR": str(tmp_path)}, "check").returncode == 0
    assert mode(tmp_path / "portal.sqlite3") == 0o600


def test_sqlite_journal_files_left_readable_are_made_private(tmp_path):
    from config.env import private_file

    for name in ("db", "db-wal", "db-shm"):
        (tmp_path / name).touch(mode=0o644)
    private_file(tmp_path / "db")
    assert [mode(tmp_path / name) for name in ("db", "db-wal", "db-shm")] == [0o600] * 3


def test_the_sandbox_state_file_is_readable_by_its_owner_only(tmp_path):
    from stripe_sandbox.core import State

    path = tmp_path / "state.json"
    path.with_suffix(".tmp").write_text("{}")
    path.with_suffix(".tmp").chmod(0o644)  # left by a run that stopped mid-save
    state = State("2026-08-26.dahlia", path)
    state.secrets["we_1"] = "whsec_private"
    state.save()
    assert mode(path) == 0o600 and "whsec_private" in path.read_text()
