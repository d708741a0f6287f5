"""A list's rendered results, kept until a table under them changes.

A finance list is 8–11 indexed queries and ~40 ms of template work for its 50 rows, every time
someone pages back, toggles a filter off again or a second analyst opens the same past-due list.
So the results fragment (table, pagination, footer) is cached under the *versions* of the tables
the list reads (`ListSpec.depends_on`), with the viewer's role, time zone and language in the key.

A table's version moves on every write to it: the mirror's upserts (`mirror_written`, sent by
`billing.stripe.upsert.Writer`), any ORM save or delete, and `update()` on the portal's own tables
lists read (`accounts.signals.rows_updated`). It moves at once (the same transaction reads its own
writes) and again after commit, so a page rendered by another process between the write and the
commit, from the rows as they were, is never served afterwards. A write that passes all of these
(SQL typed by hand) shows within `LIST_CACHE_SECONDS`, how long an entry lives. Only fragments that
hold nothing of the request (no CSRF token, no per-page ids) are cached: they are rendered without it.

The cache must be shared by every process that writes (web, Celery), so with the per-process
local-memory cache (no Redis) lists are not cached at all. A cache that is down only costs speed.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from functools import cache as once
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone, translation

log = logging.getLogger(__name__)

PREFIX = "listcache:"
# The tables whose writes move versions, the same in every process — a Celery worker applying events
# imports no list, yet its writes must reach them. A list may only depend on these (`watch`).
WATCHED_APPS = {"djstripe"}
WATCHED_MODELS = {"accounts.Organisation", "billing_reports.SubscriptionMrr"}


def enabled() -> bool:
    return settings.LIST_CACHE_SECONDS > 0


def watched(label: str) -> bool:
    return label.partition(".")[0] in WATCHED_APPS or label in WATCHED_MODELS


def watch(labels: Iterable[str]) -> None:
    """A list's dependencies: refused at import unless their writes move versions."""
    unwatched = [label for label in labels if not watched(label)]
    if unwatched:
        raise ImproperlyConfigured(f"list cache: add {', '.join(unwatched)} to WATCHED_MODELS to depend on it")


def _touch_now(labels: frozenset[str]) -> None:
    stamp = uuid.uuid4().hex[:16]
    try:
        cache.set_many({f"{PREFIX}v:{label}": stamp for label in labels}, None)
    except Exception:  # noqa: BLE001 — an unreachable cache must not fail a write; entries still expire
        log.warning("list cache: could not move the versions of %s", ", ".join(sorted(labels)), exc_info=True)


def touch(labels: Iterable[str]) -> None:
    """Tables `labels` changed: now (this transaction reads its own writes) and after commit."""
    wanted = frozenset(label for label in labels if watched(label))
    if not wanted or not enabled():
        return
    _touch_now(wanted)
    transaction.on_commit(lambda: _touch_now(wanted))


@once
def code_version() -> str:
    """What renders a list, hashed: a fragment made by an earlier release is never served by this one."""
    digest = hashlib.blake2b(digest_size=8)
    base = Path(settings.BASE_DIR)
    for folder in ("templates", "billing", "accounts"):
        for path in sorted((base / folder).rglob("*")):
            if path.suffix in (".py", ".html") and "tests" not in path.parts:
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def fragment_key(name: str, labels: Iterable[str], role: str | None, parts: Iterable[tuple[str, str]]) -> str | None:
    """The key of one rendered fragment at the tables' current versions (None: do not cache)."""
    if not enabled():
        return None
    labels = sorted(labels)
    try:
        versions = cache.get_many([f"{PREFIX}v:{label}" for label in labels])
    except Exception:  # noqa: BLE001
        log.warning("list cache unreachable; rendering without it", exc_info=True)
        return None
    described = repr(
        (
            code_version(),
            [versions.get(f"{PREFIX}v:{label}", "0") for label in labels],
            role,
            timezone.get_current_timezone_name(),
            translation.get_language(),
            sorted(parts),
        )
    )
    return f"{PREFIX}{name}:{hashlib.blake2b(described.encode(), digest_size=16).hexdigest()}"


def get(key: str | None):
    if key is None:
        return None
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001
        return None


def put(key: str | None, value) -> None:
    if key is None:
        return
    try:
        cache.set(key, value, settings.LIST_CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        log.warning("list cache: could not keep a fragment", exc_info=True)


def _model_written(sender, **kwargs) -> None:
    touch([sender._meta.label])


def _mirror_written(sender, models, **kwargs) -> None:
    touch(model._meta.label for model in models)


def connect() -> None:
    from accounts.signals import rows_updated
    from billing.stripe.receivers import mirror_written

    post_save.connect(_model_written, dispatch_uid="listcache.post_save")
    post_delete.connect(_model_written, dispatch_uid="listcache.post_delete")
    rows_updated.connect(_model_written, dispatch_uid="listcache.rows_updated")
    mirror_written.connect(_mirror_written, dispatch_uid="listcache.mirror_written")
