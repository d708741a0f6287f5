"""Celery tasks of the taxes app: a few lines each; the work is in the services.

Routed to the `stripe` queue (config/settings.py): each is a write toward Stripe."""

from celery import shared_task

from accounts.models import Organisation
from taxes import services


@shared_task(acks_late=True, autoretry_for=(services.TaxError,), retry_backoff=30, max_retries=5)
def reapply_customer(organisation_id: int) -> str:
    """One organisation's tax status and subscriptions, after the mode, a registration or a rate
    changed; safe to run twice."""
    organisation = Organisation.objects.filter(pk=organisation_id).exclude(stripe_customer_id=None).first()
    if organisation is None:
        return "gone"
    return services.customer_tax_apply(organisation=organisation).kind
