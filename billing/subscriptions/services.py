"""Writes toward Stripe for subscriptions: start, cancel. Each keyed from our own rows, written
through to the mirror in the same request, and audited."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from djstripe.models import PaymentMethod

from accounts.audit import audit
from accounts.models import Organisation
from billing.stripe import mirror
from billing.stripe.errors import InvalidRequest, StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from billing.subscriptions import schedules
from billing.subscriptions.models import ChangeKind, ChangeStatus, SubscriptionChange


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


def subscription_cancel(
    *, organisation: Organisation, subscription_id: str, at_period_end: bool, request_key: str, actor=None
) -> dict:
    """Cancel now, or at the end of the paid period (the customer keeps access until then).

    `request_key` names this request (a form's request id, a dunning case): the same key sends the
    same idempotency key, so a retry is safe, while a cancel after a resume is a new request."""
    client = gateway()
    if at_period_end:
        subscription = client.post(
            f"/v1/subscriptions/{subscription_id}",
            {"cancel_at_period_end": "true"},
            idempotency_key=key_for("subscription.cancel_at_period_end", subscription_id, request_key),
        )
    else:
        try:
            subscription = client.delete(
                f"/v1/subscriptions/{subscription_id}",
                idempotency_key=key_for("subscription.cancel", subscription_id, request_key),
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


def _change_row(*, organisation: Organisation, subscription_id: str, kind: str, request_id, actor, **fields):
    """The request's row, or the first one's when the same form is submitted again (then `False`)."""
    existing = SubscriptionChange.objects.filter(request_id=request_id).first()
    if existing is not None:
        if existing.organisation_id != organisation.pk:
            raise SubscriptionError("That request is not your organisation's.")
        return existing, False
    try:
        with transaction.atomic():
            row = SubscriptionChange.objects.create(
                request_id=request_id,
                organisation=organisation,
                subscription_id=subscription_id,
                kind=kind,
                requested_by=actor if getattr(actor, "is_authenticated", False) else None,
                **fields,
            )
    except IntegrityError:
        return SubscriptionChange.objects.get(request_id=request_id), False
    return row, True


def _send_change(row, path: str, params: dict, action: str, actor, **audit_data):
    """Send one subscription update for `row`; written through and audited, or the row keeps Stripe's refusal."""
    try:
        subscription = gateway().post(path, params, idempotency_key=key_for(action, row))
    except StripeGatewayError as error:
        row.status, row.error, row.done_at = ChangeStatus.failed, error.message[:2000], timezone.now()
        row.save(update_fields=["status", "error", "done_at"])
        audit(
            actor,
            f"{action}.failed",
            object_type="djstripe.subscription",
            object_id=row.subscription_id,
            organisation=row.organisation,
            change=row.pk,
            error=row.error,
        )
        raise SubscriptionError(error.message) from error
    with transaction.atomic():
        mirror.apply_object(subscription)
        row.status, row.done_at = ChangeStatus.applied, timezone.now()
        row.save(update_fields=["status", "done_at"])
        audit(
            actor,
            action,
            object_type="djstripe.subscription",
            object_id=row.subscription_id,
            organisation=row.organisation,
            change=row.pk,
            **audit_data,
        )
    return row


def subscription_set_cancel_at_period_end(
    *, organisation: Organisation, subscription, cancel: bool, request_id, actor=None
):
    """Cancel at the end of the paid period (access until then), or take that back (resume).
    A change scheduled for the renewal is dropped first: a subscription that ends does not renew."""
    data = subscription.stripe_data
    if data.get("customer") != organisation.stripe_customer_id:
        raise SubscriptionError("That subscription is not your organisation's.")
    if data.get("status") not in ("active", "trialing", "past_due"):
        raise SubscriptionError(
            f"This subscription is {data.get('status')}: there is nothing to {'cancel' if cancel else 'resume'}."
        )
    kind = ChangeKind.cancel if cancel else ChangeKind.resume
    row, created = _change_row(
        organisation=organisation, subscription_id=subscription.id, kind=kind, request_id=request_id, actor=actor
    )
    if not created:
        return row
    if bool(data.get("cancel_at_period_end")) == cancel:
        row.status, row.done_at = ChangeStatus.applied, timezone.now()
        row.save(update_fields=["status", "done_at"])
        return row  # already so: nothing to send
    pending = schedules.pending_changes([subscription]).get(subscription.id) if cancel else None
    if pending is not None:
        try:
            schedules.release(pending.schedule_id, key=key_for("subscription_schedule.release", row))
        except StripeGatewayError as error:
            raise SubscriptionError(error.message) from error
        SubscriptionChange.objects.filter(schedule_id=pending.schedule_id, status=ChangeStatus.scheduled).update(
            status=ChangeStatus.canceled
        )
    action = "subscription.cancel_at_period_end" if cancel else "subscription.resume"
    return _send_change(
        row,
        f"/v1/subscriptions/{subscription.id}",
        {"cancel_at_period_end": "true" if cancel else "false"},
        action,
        actor,
        dropped_scheduled_change=pending.schedule_id if pending else None,
    )


def subscription_set_payment_method(
    *, organisation: Organisation, subscription, payment_method_id: str, request_id, actor=None
):
    """Charge this subscription to one of the organisation's payment methods ("" : the customer's default)."""
    if subscription.stripe_data.get("customer") != organisation.stripe_customer_id:
        raise SubscriptionError("That subscription is not your organisation's.")
    if subscription.stripe_data.get("status") in ("canceled", "incomplete_expired"):
        raise SubscriptionError("This subscription has ended.")
    if (
        payment_method_id
        and not PaymentMethod.mirror.for_customer(organisation.stripe_customer_id).filter(id=payment_method_id).exists()
    ):
        raise SubscriptionError("That payment method is not one of your organisation's.")
    row, created = _change_row(
        organisation=organisation,
        subscription_id=subscription.id,
        kind=ChangeKind.payment_method,
        request_id=request_id,
        actor=actor,
        payment_method_id=payment_method_id,
    )
    if not created:
        return row
    return _send_change(
        row,
        f"/v1/subscriptions/{subscription.id}",
        {"default_payment_method": payment_method_id},
        "subscription.payment_method",
        actor,
        payment_method=payment_method_id or "customer default",
    )
