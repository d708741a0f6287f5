"""Celery tasks of the usage app: a few lines each; the work is in reporting, fairbilling, services."""

from celery import shared_task
from djstripe.models import Invoice

from billing.usage import fairbilling, reporting, schema, services
from billing.usage.maintenance import keys_prune


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def report_usage() -> dict:
    """Beat, every minute: usage to Stripe's meters, exactly once (see reporting.py)."""
    done = reporting.usage_report()
    services.corrections_send()
    return done


@shared_task(acks_late=True)
def flush_invoice(customer_id: str, invoice_id: str) -> int:
    invoice = Invoice.objects.filter(id=invoice_id).first()
    if invoice is None:
        return 0
    return reporting.invoice_flush(customer_id=customer_id, invoice=invoice.stripe_data)


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def fair_billing() -> dict:
    return fairbilling.fair_billing()


@shared_task(acks_late=True)
def send_corrections() -> int:
    return services.corrections_send()


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def reconcile_usage() -> dict:
    return reporting.reconcile()


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def maintain_partitions() -> dict:
    return {**schema.maintain(), "keys_pruned": keys_prune()}
