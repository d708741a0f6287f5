"""Dunning's Celery tasks: thin, by id, safe twice. Attempts and Stripe writes run on the `stripe`
queue (through the shared rate limiter); the sweep runs on beat (DUNNING_SWEEP_SECONDS)."""

from celery import shared_task

from billing.dunning import actions, emails, engine
from billing.stripe.errors import StripeUnavailable


@shared_task(acks_late=True)
def sweep() -> int:
    """Beat: make the attempts of every due step, and send again those whose task was lost."""
    return engine.sweep() + engine.requeue_stale()


@shared_task(bind=True, acks_late=True, max_retries=None)
def execute_attempt(self, attempt_id: int) -> str:
    try:
        return engine.attempt_execute(attempt_id=attempt_id)
    except StripeUnavailable as error:
        # Rate limited or unreachable through the gateway's own retries: later, same key, same attempt.
        raise self.retry(countdown=min(300, 5 * 2 ** min(self.request.retries, 6)), exc=error) from error


@shared_task(bind=True, acks_late=True, max_retries=20)
def turn_off_stripe_retries(self, case_id: int) -> bool:
    try:
        return actions.turn_off_stripe_retries(case_id=case_id)
    except StripeUnavailable as error:
        raise self.retry(countdown=30, exc=error) from error


@shared_task(bind=True, acks_late=True, max_retries=20)
def run_final_action(self, case_id: int) -> str:
    try:
        return actions.run_final_action(case_id=case_id)
    except StripeUnavailable as error:
        raise self.retry(countdown=60, exc=error) from error


@shared_task(acks_late=True)
def send_email(email_id: int) -> str:
    return emails.email_send(email_id=email_id)
