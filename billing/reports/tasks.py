from celery import shared_task

from billing.reports.checks import ledger_check


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def check_ledger() -> int:
    """Beat: compare the MRR ledger with the mirror and keep what differs (shown on the dashboard)."""
    return ledger_check().differing
