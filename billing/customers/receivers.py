"""Keep each organisation linked to its Stripe customer, whichever side moved first.

`customer_create` links the organisation when Stripe answers; if that process died after Stripe
created the customer, or someone created it in Stripe's dashboard with our metadata, the event
links it here. A customer deleted at Stripe unlinks its organisation, so the next billing action
creates a new one instead of writing to a deleted customer.
"""

from __future__ import annotations

from accounts.audit import audit
from accounts.models import Organisation
from billing.stripe.models import StripeEvent
from billing.stripe.receivers import stripe_receiver


@stripe_receiver("customer.created", "customer.updated")
def link_organisation(event: StripeEvent, customer: dict) -> None:
    organisation_id = str((customer.get("metadata") or {}).get("organisation_id") or "")
    if not organisation_id.isdigit() or Organisation.objects.filter(stripe_customer_id=customer["id"]).exists():
        return
    linked = Organisation.objects.filter(pk=int(organisation_id), stripe_customer__isnull=True).update(
        stripe_customer_id=customer["id"]
    )
    if linked:
        audit(
            None,
            "organisation.link_customer",
            object_type="accounts.organisation",
            object_id=organisation_id,
            stripe_customer_id=customer["id"],
            event_id=event.pk,
        )


@stripe_receiver("customer.deleted")
def unlink_organisation(event: StripeEvent, customer: dict) -> None:
    for organisation in Organisation.objects.filter(stripe_customer_id=customer["id"]):
        Organisation.objects.filter(pk=organisation.pk).update(stripe_customer_id=None)
        audit(None, "organisation.unlink_customer", organisation, stripe_customer_id=customer["id"], event_id=event.pk)
