"""Settings from the environment: each value parsed once, a bad one stops start-up with one line."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse


class ConfigError(Exception):
    """A missing or malformed environment variable. The message names the variable."""


def string(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ConfigError(f"{name} is required but not set")
        return default
    return value


def optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def boolean(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name}={value!r} must be at least {minimum}")
    return number


def decimal_fraction(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number") from None
    if not 0 < number <= 1:
        raise ConfigError(f"{name}={value!r} must be greater than 0 and at most 1")
    return number


def money_minor(name: str, default: str, currency: str) -> int:
    """An amount typed in major units ("1000.50") as integer minor units of `currency`."""
    from decimal import Decimal, InvalidOperation

    from babel.numbers import get_currency_precision

    value = (os.environ.get(name) or default).strip()
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ConfigError(f"{name}={value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"{name}={value!r} must be an amount of at least 0")
    return int(amount.scaleb(get_currency_precision(currency.upper())))


def url(name: str, *, schemes: set[str], default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip() or default
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        allowed = ", ".join(sorted(schemes))
        raise ConfigError(f"{name} is malformed: expected a URL with scheme {allowed}")
    return value


def csv(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def secret_key_shaped(name: str, value: str | None, prefixes: tuple[str, ...]) -> str | None:
    # Never echo the value: it is a secret.
    if value is not None and not value.startswith(prefixes):
        raise ConfigError(f"{name} is malformed: it must start with {' or '.join(prefixes)}")
    return value


def private_file(path: Path) -> None:
    """Make `path` (created empty if missing; its directory must exist) and any SQLite -wal/-shm
    beside it readable and writable by this user only."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):  # SQLite removes -wal/-shm as the last connection closes
            file.chmod(0o600)


def local_secret_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key


EMAIL_SCHEMES = {"console", "smtp", "smtp+tls", "smtp+ssl", "file"}


def email(name: str) -> dict:
    """Django's EMAIL_* settings from one URL: unset or `console://`, the console (mail printed);
    `smtp://user:password@host:port` (plain, e.g. a local relay), `smtp+tls://…` (STARTTLS),
    `smtp+ssl://…` (implicit TLS); `file:///path/to/dir` (each message a file there). User and
    password are percent-encoded."""
    value = os.environ.get(name, "").strip()
    parsed = urlparse(url(name, schemes=EMAIL_SCHEMES) if value not in ("", "console://") else "console:")
    try:
        port = parsed.port
    except ValueError:
        raise ConfigError(f"{name} is malformed: the port is not a number") from None
    if parsed.scheme == "file":
        if not parsed.path:
            raise ConfigError(f"{name} is malformed: expected file:///a/directory")
        return {
            "backend": "django.core.mail.backends.filebased.EmailBackend",
            "file_path": parsed.path,
            "host": "localhost",
            "port": 25,
            "user": "",
            "password": "",
            "use_tls": False,
            "use_ssl": False,
        }
    if parsed.scheme != "console" and not parsed.hostname:
        raise ConfigError(f"{name} is malformed: expected smtp://user:password@host:port")
    return {
        "backend": "django.core.mail.backends."
        + ("console.EmailBackend" if parsed.scheme == "console" else "smtp.EmailBackend"),
        "host": parsed.hostname or "localhost",
        "port": port or {"smtp+tls": 587, "smtp+ssl": 465}.get(parsed.scheme, 25),
        "user": unquote(parsed.username or ""),
        "password": unquote(parsed.password or ""),
        "use_tls": parsed.scheme == "smtp+tls",
        "use_ssl": parsed.scheme == "smtp+ssl",
    }


def exit_on_config_error(error: ConfigError) -> None:
    sys.stderr.write(f"configuration error: {error}\n")
    raise SystemExit(2)
