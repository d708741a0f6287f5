"""Celery tasks of the risk app: a few lines each; the work is in the services.

Routes (config/settings.py): writes toward Stripe (decisions, the warning policy, block list sync) on
the `stripe` queue; reminders on `default`."""

from celery import shared_task

from billing.risk import blocklist, reminders, reviews, warnings


@shared_task(acks_late=True)
def execute_decision(decision_id: int) -> str:
    """One decision of a bulk form; safe to run twice."""
    return reviews.decision_execute(decision_id=decision_id).status


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, retry_backoff_max=1800, max_retries=8)
def apply_warning_policy(warning_id: str) -> str:
    """The auto-refund policy for one early fraud warning; safe to run twice (refunds at most once)."""
    return warnings.warning_policy_apply(warning_id=warning_id).outcome


@shared_task(acks_late=True)
def sync_block_lists(limit: int = 200) -> int:
    """Beat: block list entries whose Radar sync is pending or failed."""
    return blocklist.blocklist_sync_pending(limit=limit)


@shared_task(acks_late=True)
def send_dispute_reminders() -> int:
    """Beat: reminders at 7, 3 and 1 days before disputes' evidence is due."""
    return reminders.dispute_reminders_send()
