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
