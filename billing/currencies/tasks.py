"""Celery tasks of currency launches (queue `stripe`): a few lines each; the work is in jobs.py."""

from celery import shared_task

from billing.currencies import jobs


@shared_task(acks_late=True)
def launch_work(launch_id: int) -> str:
    """One chunk of a launch's prices, then the next task; safe to run twice (leases, idempotency keys)."""
    return jobs.run_task(launch_id)


@shared_task
def resume_launches() -> list[int]:
    """Beat: restart launches whose tasks were lost with their worker."""
    return jobs.resume_stalled()
