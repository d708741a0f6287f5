"""Writes toward Stripe for subscriptions: start, cancel. Each keyed from our own rows, written
through to the mirror in the same request, and audited."""

from __future__ import annotations

from django.db import transaction

from accounts.audit import audit
from accounts.models import Organisation
from billing.stripe import mirror
from billing.stripe.errors import InvalidRequest
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for


class SubscriptionError(Exception):
    """A subscription change the portal refuses before asking Stripe. The message is for people."""


def subscription_create(
    *,
    organisation: Organisation,
    price_id: str,
    quantity: int,
    request_key: str,
    actor=None,
    payment_method_id: str | None = None,
    trial_days: int | None = None,
    send_invoice_days: int | None = None,
) -> dict:
    """Start a per-seat subscription for the organisation's customer.

    `request_key` names the intent (a row of ours, or a form submission) so a repeat sends the same
    idempotency key. `send_invoice_days`: enterprise terms (invoiced, due in N days) instead of
    charging the default payment method.
    """
    if not organisation.stripe_customer_id:
        raise SubscriptionError(f"{organisation.name} has no Stripe customer yet")
    if quantity < 1:
        raise SubscriptionError("A subscription needs at least one seat")
    params: dict = {
        "customer": organisation.stripe_customer_id,
        "items": [{"price": price_id, "quantity": quantity}],
        "metadata": {"organisation_id": str(organisation.pk)},
        "proration_behavior": "create_prorations",
    }
    if send_invoice_days is not None:
        params.update({"collection_method": "send_invoice", "days_until_due": send_invoice_days})
    elif payment_method_id:
        params["default_payment_method"] = payment_method_id
    if trial_days:
        params["trial_period_days"] = trial_days
    subscription = gateway().post(
        "/v1/subscriptions", params, idempotency_key=key_for("subscription.create", organisation, request_key)
    )
    with transaction.atomic():
        mirror.apply_object(subscription)
        audit(
            actor,
            "subscription.create",
            object_type="djstripe.subscription",
            object_id=subscription["id"],
            organisation=organisation,
            price=price_id,
            quantity=quantity,
        )
    return subscription


def subscription_cancel(*, organisation: Organisation, subscription_id: str, at_period_end: bool, actor=None) -> dict:
    """Cancel now, or at the end of the paid period (the customer keeps access until then)."""
    client = gateway()
    if at_period_end:
        subscription = client.post(
            f"/v1/subscriptions/{subscription_id}",
            {"cancel_at_period_end": "true"},
            idempotency_key=key_for("subscription.cancel_at_period_end", subscription_id),
        )
    else:
        try:
            subscription = client.delete(
                f"/v1/subscriptions/{subscription_id}", idempotency_key=key_for("subscription.cancel", subscription_id)
            )
        except InvalidRequest:
            # Stripe does not replay DELETEs: a repeated cancel is refused once it is canceled. That
            # is the outcome asked for, so a double submit succeeds; anything else is re-raised.
            subscription = client.get(f"/v1/subscriptions/{subscription_id}")
            if subscription.get("status") != "canceled":
                raise
    with transaction.atomic():
        mirror.apply_object(subscription)
        audit(
            actor,
            "subscription.cancel",
            object_type="djstripe.subscription",
            object_id=subscription_id,
            organisation=organisation,
            at_period_end=at_period_end,
        )
    return subscription
