"""Handing stored events to the workers: the events table is the queue.

The intake only inserts the event row. Workers claim `received` rows in batches with
`FOR UPDATE SKIP LOCKED` (PostgreSQL), mark them `processing` with a lease, and apply each in its
own transaction; a worker killed mid-batch leaves rows whose lease runs out, and the beat sweep
hands them back. The intake wakes the workers with a `drain_events` task at most every
DEBOUNCE seconds per process (plus one trailing wake-up), so a burst of a thousand events costs
a handful of Celery messages, not a thousand.

On SQLite (the embedded default) the same claim needs no SKIP LOCKED: a write transaction holds
the whole database, so two drains never claim the same row. (Before, each event was its own Celery
task there, which the file broker moved at about ten a second.)
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.stripe.models import EventStatus, StripeEvent

DEBOUNCE = 0.2
LEASE = dt.timedelta(minutes=5)
_lock = threading.Lock()
_last_wake = 0.0
_trailing_until = 0.0


def uses_table_queue() -> bool:
    return not settings.CELERY_TASK_ALWAYS_EAGER


PROCESS_EVENT = "billing.stripe.tasks.process_event"
DRAIN_EVENTS = "billing.stripe.tasks.drain_events"


def send(task_name: str, *args, countdown: float | None = None, **kwargs) -> None:
    """Send a Celery task by its name, so nothing needs to import `tasks.py` (routing still applies).

    Under CELERY_TASK_ALWAYS_EAGER (debugging) the registered task runs here and now, as `delay` would.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        if task_name not in current_app.tasks:
            current_app.loader.import_default_modules()  # autodiscovery, as a worker does at start
        current_app.tasks[task_name].apply(args=args, kwargs=kwargs, throw=True)
        return
    current_app.send_task(task_name, args=args, kwargs=kwargs, countdown=countdown)


def enqueue(event_id: str) -> None:
    if not uses_table_queue():
        send(PROCESS_EVENT, event_id)
        return
    wake()


def wake() -> None:
    """Make sure a drain runs soon: now if none was started in the last DEBOUNCE s, else once after it."""
    global _last_wake, _trailing_until
    now = time.monotonic()
    with _lock:
        if now - _last_wake >= DEBOUNCE:
            _last_wake = now
            when = "now"
        elif now >= _trailing_until:
            _trailing_until = now + DEBOUNCE
            when = "later"
        else:
            return
    if when == "now":
        send(DRAIN_EVENTS)
    else:
        send(DRAIN_EVENTS, countdown=DEBOUNCE)


def claim_batch(size: int) -> list[str]:
    """Take up to `size` received events for this worker (others skip them), oldest first."""
    table = connection.ops.quote_name(StripeEvent._meta.db_table)
    lease_until = StripeEvent._meta.get_field("next_attempt_at").get_db_prep_save(timezone.now() + LEASE, connection)
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, next_attempt_at = %s WHERE id IN ("
            f"SELECT id FROM {table} WHERE status = %s ORDER BY received_at LIMIT %s{skip_locked}"
            ") RETURNING id",
            [EventStatus.processing, lease_until, EventStatus.received, size],
        )
        return [row[0] for row in cursor.fetchall()]
