from celery import shared_task

from billing.stripe import services
from billing.stripe.models import StripeEvent


@shared_task(acks_late=True)
def process_event(event_id: str) -> str:
    return services.event_process(event_id=event_id)


@shared_task
def retry_failed_events(limit: int = 500) -> int:
    """Beat: re-enqueue failed events whose backoff has passed, a bounded batch per run."""
    due = list(StripeEvent.objects.due_for_retry().order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    for event_id in due:
        process_event.delay(event_id)
    return len(due)


@shared_task
def requeue_stale_received(older_than_seconds: int = 600, limit: int = 1000) -> int:
    """Beat: events stored but never processed (a lost message, a killed worker) go back in the queue."""
    import datetime as dt

    from django.utils import timezone

    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    stale = list(
        StripeEvent.objects.filter(status="received", received_at__lt=cutoff).values_list("pk", flat=True)[:limit]
    )
    for event_id in stale:
        process_event.delay(event_id)
    return len(stale)


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def reconcile_mirror(sample: int = 200, repair: bool = False) -> int:
    """Beat: compare a sample of every type with Stripe and write a drift report."""
    from billing.stripe import sync

    return sync.reconcile(sample=sample, repair=repair).pk
