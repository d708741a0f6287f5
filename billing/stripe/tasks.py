from celery import shared_task

from billing.stripe import queue, services
from billing.stripe.models import StripeEvent


@shared_task(acks_late=True)
def process_event(event_id: str) -> str:
    return services.event_process(event_id=event_id)


@shared_task(acks_late=True)
def drain_events(batch: int = 200) -> int:
    """Apply received events until none are left; several drains share the work (SKIP LOCKED)."""
    done = 0
    while True:
        ids = queue.claim_batch(batch)
        services.events_process(event_ids=ids)
        done += len(ids)
        if len(ids) < batch:
            return done


@shared_task
def retry_failed_events(limit: int = 500) -> int:
    """Beat: re-enqueue failed events whose backoff has passed, a bounded batch per run."""
    due = list(StripeEvent.objects.due_for_retry().order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    StripeEvent.objects.filter(pk__in=due).update(status="received", next_attempt_at=None)
    for event_id in due:
        queue.enqueue(event_id)
    return len(due)


@shared_task
def requeue_stale_received(older_than_seconds: int = 60, limit: int = 5000) -> int:
    """Beat: nothing waits forever. Events whose wake-up was lost, or whose worker died holding
    them (lease run out), go back to the queue."""
    import datetime as dt

    from django.utils import timezone

    from billing.stripe.models import EventStatus

    now = timezone.now()
    expired = StripeEvent.objects.filter(status=EventStatus.processing, next_attempt_at__lt=now)
    released = expired.update(status=EventStatus.received, next_attempt_at=None)
    stale = StripeEvent.objects.filter(
        status=EventStatus.received, received_at__lt=now - dt.timedelta(seconds=older_than_seconds)
    )
    if queue.uses_table_queue():
        waiting = stale.count() + released
        if waiting:
            drain_events.delay()
        return waiting
    ids = list(stale.values_list("pk", flat=True)[:limit])
    for event_id in ids:
        queue.enqueue(event_id)
    return len(ids)


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def reconcile_mirror(sample: int = 200, repair: bool = False) -> int:
    """Beat: compare a sample of every type with Stripe and write a drift report."""
    from billing.stripe import sync

    return sync.reconcile(sample=sample, repair=repair).pk
