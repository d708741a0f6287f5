"""Celery tasks of the gateway app: a few lines each; the work is in processing, sync and services.

Queues (config/settings.py CELERY_TASK_ROUTES): `events` for applying events, `reports` for the
long reconciliation and retention jobs, so neither can hold up the other.
"""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.stripe import processing, queue, services, sync
from billing.stripe.models import DriftReport, EventStatus, StripeEvent


@shared_task(acks_late=True)
def process_event(event_id: str) -> str:
    return processing.event_process(event_id=event_id)


@shared_task(acks_late=True)
def drain_events(batch: int = 200) -> int:
    """Apply received events until none are left; several drains share the work (SKIP LOCKED)."""
    done = 0
    while True:
        ids = queue.claim_batch(batch)
        processing.events_process(event_ids=ids)
        done += len(ids)
        if len(ids) < batch:
            return done


@shared_task
def retry_failed_events(limit: int = 500) -> int:
    """Beat: re-enqueue failed events whose backoff has passed, a bounded batch per run."""
    due = list(StripeEvent.objects.due_for_retry().order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    StripeEvent.objects.filter(pk__in=due).update(status=EventStatus.received, next_attempt_at=None)
    for event_id in due:
        queue.enqueue(event_id)
    return len(due)


@shared_task
def requeue_stale_received(older_than_seconds: int = 60, limit: int = 5000) -> int:
    """Beat: nothing waits forever. Events whose wake-up was lost, or whose worker died holding
    them (lease run out), go back to the queue."""
    now = timezone.now()
    expired = StripeEvent.objects.filter(status=EventStatus.processing, next_attempt_at__lt=now)
    released = expired.update(status=EventStatus.received, next_attempt_at=None)
    stale = StripeEvent.objects.filter(
        status=EventStatus.received, received_at__lt=now - dt.timedelta(seconds=older_than_seconds)
    )
    if queue.uses_table_queue():
        waiting = stale.count() + released
        if waiting:
            queue.send(queue.DRAIN_EVENTS)
        return waiting
    ids = list(stale.values_list("pk", flat=True)[:limit])
    for event_id in ids:
        queue.enqueue(event_id)
    return len(ids)


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def reconcile_mirror(sample: int = 200, repair: bool = False) -> int:
    """Beat: compare a sample of every type with Stripe and write a drift report."""
    return sync.reconcile(sample=sample, repair=repair).pk


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def prune_events(batch: int = 5_000, max_batches: int = 200) -> dict[str, int]:
    """Beat: keep applied events for STRIPE_EVENT_RETENTION_DAYS; bounded work per run."""
    return services.events_prune(keep_days=settings.STRIPE_EVENT_RETENTION_DAYS, batch=batch, max_batches=max_batches)


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def repair_drift(report_id: int, actor_id: int | None = None) -> int:
    """Repair every difference of a drift report not repaired yet, from Stripe; safe to run twice."""
    report = DriftReport.objects.get(pk=report_id)
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    done = 0
    for detail in report.details:
        if detail.get("repaired"):
            continue
        services.drift_repair(report=report, object_type=detail["type"], stripe_id=detail["id"], actor=actor)
        report.refresh_from_db(fields=["details"])
        done += 1
    return done
