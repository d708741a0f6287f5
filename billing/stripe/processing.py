"""Applying stored events to the mirror: in batches, each event in its own transaction, failures
retried with backoff and dead-lettered after MAX_ATTEMPTS. Receivers run inside the transaction."""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from billing.stripe import mirror
from billing.stripe.models import EventStatus, StripeEvent
from billing.stripe.receivers import event_applied

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def _retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(6 * 3600, 30 * 4 ** max(0, attempts - 1)))


def event_process(*, event_id: str) -> str:
    """Apply a stored event to the mirror. Safe to call twice, and from several workers."""
    return events_process(event_ids=[event_id]).get(event_id, "skipped")


def events_process(*, event_ids: list[str]) -> dict[str, str]:
    """Apply a batch of stored events, each in its own transaction. Returns id -> status.

    Statuses are written for the whole batch at the end (one UPDATE per outcome): if the worker
    dies before that, the events are applied again, which changes nothing (the claims see the same
    state) — cheaper than a status write inside every event's transaction.
    """
    events = StripeEvent.objects.filter(pk__in=event_ids).only("pk", "type", "payload", "status", "attempts")
    by_id = {event.pk: event for event in events}
    results: dict[str, str] = {}
    done: dict[str, list[str]] = {mirror.Outcome.applied: [], mirror.Outcome.ignored: [], mirror.Outcome.stale: []}
    for event_id in event_ids:
        event = by_id.get(event_id)
        if event is None or event.status in (EventStatus.applied, EventStatus.ignored):
            results[event_id] = "skipped"  # already done (a duplicate message, or a replay racing a retry)
            continue
        outcome = _apply_one(event)
        if outcome is None:
            results[event_id] = StripeEvent.objects.filter(pk=event_id).values_list("status", flat=True).first()
            continue
        done[outcome].append(event_id)
        results[event_id] = EventStatus.ignored if outcome == mirror.Outcome.ignored else EventStatus.applied
    now = timezone.now()
    for outcome, ids in done.items():
        if ids:
            StripeEvent.objects.filter(pk__in=ids).update(
                status=EventStatus.ignored if outcome == mirror.Outcome.ignored else EventStatus.applied,
                attempts=F("attempts") + 1,
                processed_at=now,
                next_attempt_at=None,
                last_error="superseded by a newer state" if outcome == mirror.Outcome.stale else "",
            )
    return results


def _apply_one(event: StripeEvent) -> str | None:
    """Apply one event in its own transaction; on failure record it and return None."""
    last: Exception | None = None
    for _ in range(3):
        try:
            with transaction.atomic():
                outcome = mirror.apply_event(event.payload)
                # Every event is a fact (a payment failed, a dispute opened), also when the mirror
                # already holds a newer state of its object: receivers hear of each one once.
                event_applied.send(sender=StripeEvent, event=event, outcome=outcome)
            return outcome
        except (OperationalError, IntegrityError) as error:
            # A deadlock, a lock timeout, or a parent deleted by another worker since this process
            # last saw it: forget what we remember and try again at once.
            mirror.known_rows.forget()
            last = error
            time.sleep(0.05)
        except Exception as error:  # noqa: BLE001 — any failure is recorded on the event
            last = error
            break
    mirror.known_rows.forget()
    attempts = event.attempts + 1
    dead = attempts >= MAX_ATTEMPTS
    StripeEvent.objects.filter(pk=event.pk).update(
        status=EventStatus.dead if dead else EventStatus.failed,
        attempts=attempts,
        last_error=f"{type(last).__name__}: {last}"[:2000],
        next_attempt_at=None if dead else timezone.now() + _retry_delay(attempts),
        processed_at=timezone.now(),
    )
    log.warning("event %s failed (attempt %d): %s", event.pk, attempts, type(last).__name__)
    return None
