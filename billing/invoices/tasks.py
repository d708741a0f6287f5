from celery import shared_task

from billing.invoices import services


@shared_task(acks_late=True)
def execute_action(action_id: int) -> str:
    """Send one queued invoice action to Stripe (bulk retries and sends); safe to run twice."""
    return services.invoice_action_execute(action_id=action_id).status
