"""A customer changes plan, seats or billing frequency: checked here, previewed by Stripe, then
applied now (prorated, charged at once, at the previewed `proration_date`) or at the renewal (a
subscription schedule), as `policy.decide` says.

The plans on offer are the catalog's self-serve offers in the subscription's currency; anything
else (a tampered price, another currency's, a quantity out of bounds) is refused with a message
before Stripe hears of it. A change Stripe refuses leaves the subscription as it was.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from djstripe.models import Price, Subscription

from accounts.audit import audit
from accounts.models import Organisation
from billing.catalog.selectors import offers
from billing.stripe import accessors, mirror
from billing.stripe.errors import StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from billing.subscriptions import policy, schedules
from billing.subscriptions.models import ChangeKind, ChangeStatus, SubscriptionChange
from billing.subscriptions.previews import InvoicePreview, customer_now, preview_invoice, summarise
from billing.subscriptions.services import SubscriptionError

# How long a preview can be confirmed: its proration_date is the moment the charge is computed for.
PREVIEW_TTL_SECONDS = 15 * 60
MAX_SEATS = 100_000  # with no limit set on the offer


@dataclass
class Target:
    subscription: Subscription
    item: dict
    current: policy.Side
    new: policy.Side
    price: Price
    decision: policy.Decision
    pending: schedules.PendingChange | None

    @property
    def data(self) -> dict:
        return self.subscription.stripe_data


@dataclass
class ChangePreview:
    target: Target
    proration_date: int
    due_now: InvoicePreview | None  # the invoice issued at once (changes that apply now)
    next_invoice: InvoicePreview  # the next regular invoice with the new plan
    next_date: dt.datetime | None
    effective: dt.datetime | None  # when the change applies (None: now)

    @property
    def amount(self) -> int:
        """What this preview promises: due now, or the next invoice for a change at the renewal."""
        return self.due_now.amount_due if self.due_now is not None else self.next_invoice.amount_due


def _quantity(value) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise SubscriptionError("Enter the number of seats as a whole number.") from None
    if quantity < 1:
        raise SubscriptionError("A plan needs at least one seat.")
    return quantity


def target(*, organisation: Organisation, subscription: Subscription, price_id: str, quantity) -> Target:
    """Check a requested change against the subscription and the offers; say why not, or decide when."""
    data = subscription.stripe_data
    if subscription.customer_id is None or data.get("customer") != organisation.stripe_customer_id:
        raise SubscriptionError("That subscription is not your organisation's.")
    status = data.get("status")
    if status == "past_due":
        raise SubscriptionError("This subscription has an unpaid invoice: pay it first, then change the plan.")
    if status not in ("active", "trialing"):
        raise SubscriptionError(f"This subscription is {status}: it cannot be changed.")
    if organisation.is_enterprise or data.get("collection_method") == "send_invoice":
        raise SubscriptionError(
            "Your plan is on an agreement with our sales team: ask your account manager to change it."
        )
    if data.get("cancel_at_period_end"):
        raise SubscriptionError("This subscription is set to end: resume it first, then change the plan.")
    items = (data.get("items") or {}).get("data") or []
    if len(items) != 1:
        raise SubscriptionError("This subscription has several items; ask us to change it for you.")
    item = items[0]
    quantity = _quantity(quantity)
    currency = (data.get("currency") or item["price"].get("currency") or "").lower()
    offered = {o.price.id: o for o in offers(currency=currency)}
    offer = offered.get(str(price_id or ""))
    if offer is None:
        other = Price.objects.filter(id=str(price_id or "")[:255]).values_list("stripe_data", flat=True).first()
        if (
            other
            and (other.get("currency") or "").lower() != currency
            and any(o for o in offers() if o.price.id == price_id)
        ):
            raise SubscriptionError(
                f"That plan is priced in {other['currency'].upper()}; "
                f"your subscription is billed in {currency.upper()}."
            )
        raise SubscriptionError("That plan is not one you can choose here. Pick one of the plans listed.")
    limit = offer.max_quantity or MAX_SEATS
    if quantity > limit:
        raise SubscriptionError(
            f"{offer.product.name if offer.product else 'This plan'} can have at most {limit} seats here; "
            "for more, talk to our sales team."
        )
    current = policy.Side(
        unit_amount=item["price"].get("unit_amount") or 0,
        quantity=item.get("quantity") or 0,
        interval=(item["price"].get("recurring") or {}).get("interval") or "month",
        price_id=item["price"]["id"],
    )
    new = policy.Side(
        unit_amount=offer.unit_amount, quantity=quantity, interval=offer.interval, price_id=offer.price.id
    )
    try:
        decision = policy.decide(current, new, trialing=status == "trialing")
    except policy.SamePlan as same:
        raise SubscriptionError(str(same)) from None
    pending = schedules.pending_changes([subscription]).get(subscription.id)
    return Target(subscription, item, current, new, offer.price, decision, pending)


def preview(
    *,
    organisation: Organisation,
    subscription: Subscription,
    price_id: str,
    quantity,
    proration_date: int | None = None,
) -> ChangePreview:
    """Ask Stripe what the change would invoice. The only synchronous Stripe call a page makes."""
    change = target(organisation=organisation, subscription=subscription, price_id=price_id, quantity=quantity)
    data, new = change.data, change.new
    common = {
        "customer_id": organisation.stripe_customer_id,
        "subscription_id": subscription.id,
        "item_id": change.item["id"],
        "price_id": new.price_id,
        "quantity": new.quantity,
    }
    period_end = accessors.subscription_period_end(subscription)
    try:
        at = proration_date or customer_now(organisation.stripe_customer_id)
        common["proration_date"] = at
        if change.decision.now:
            behaviour = "none" if data.get("status") == "trialing" else "always_invoice"
            due_now = summarise(preview_invoice(**common, behaviour=behaviour))
            next_invoice = summarise(preview_invoice(**common, behaviour="none"))
            interval_change = change.current.interval != new.interval
            next_date = due_now.service_end if interval_change else period_end
            if behaviour == "none":
                due_now = None
            return ChangePreview(change, at, due_now, next_invoice, next_date, None)
        next_invoice = summarise(preview_invoice(**common, behaviour="none"))
        return ChangePreview(change, at, None, next_invoice, period_end, period_end)
    except StripeGatewayError as error:
        raise SubscriptionError(f"Stripe could not preview this change: {error.message}") from error


def apply(
    *,
    organisation: Organisation,
    subscription: Subscription,
    price_id: str,
    quantity,
    proration_date: int,
    request_id: uuid.UUID,
    previewed_amount: int | None = None,
    actor=None,
) -> SubscriptionChange:
    """Make the change previewed at `proration_date`. A repeated `request_id` (a double submit)
    returns the first request's row and sends nothing again."""
    existing = SubscriptionChange.objects.filter(request_id=request_id).first()
    if existing is not None:
        if existing.organisation_id != organisation.pk:
            raise SubscriptionError("That request is not your organisation's.")
        return existing
    change = target(organisation=organisation, subscription=subscription, price_id=price_id, quantity=quantity)
    try:
        now = customer_now(organisation.stripe_customer_id)
    except StripeGatewayError as error:
        raise SubscriptionError(error.message) from error
    period_start = accessors.subscription_period_start(subscription)
    if not (now - PREVIEW_TTL_SECONDS <= int(proration_date) <= now + 60) or (
        period_start and int(proration_date) < period_start.timestamp()
    ):
        raise SubscriptionError("This preview has expired: here is a fresh one, with today's figures.")
    try:
        with transaction.atomic():
            row = SubscriptionChange.objects.create(
                request_id=request_id,
                organisation=organisation,
                subscription_id=subscription.id,
                kind=ChangeKind.plan,
                timing=change.decision.timing,
                from_price_id=change.current.price_id,
                from_quantity=change.current.quantity,
                to_price_id=change.new.price_id,
                to_quantity=change.new.quantity,
                currency=(change.data.get("currency") or "").lower(),
                proration_date=int(proration_date),
                previewed_amount=previewed_amount,
                requested_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:  # the same form submitted twice at once: the other request sends it
        return SubscriptionChange.objects.get(request_id=request_id)
    try:
        if change.pending is not None:
            schedules.release(change.pending.schedule_id, key=key_for("subscription_schedule.release", row))
        if change.decision.now:
            stripe_objects = _apply_now(row, change)
        else:
            schedule = schedules.schedule_change(
                subscription_id=subscription.id,
                price_id=change.new.price_id,
                quantity=change.new.quantity,
                interval=change.new.interval,
                key=key_for("subscription_schedule", row),
            )
            phase = schedules.next_phase(schedule) or schedule["phases"][-1]
            row.schedule_id, row.status = schedule["id"], ChangeStatus.scheduled
            row.effective_at = dt.datetime.fromtimestamp(phase["start_date"], dt.UTC)
            stripe_objects = [schedule]
    except StripeGatewayError as error:
        return _failed(row, change, error, actor)
    with transaction.atomic():
        for obj in stripe_objects:
            mirror.apply_object(obj)
        row.done_at = timezone.now()
        row.save()
        audit(
            actor,
            "subscription.change",
            object_type="djstripe.subscription",
            object_id=subscription.id,
            organisation=organisation,
            change=row.pk,
            label=change.decision.label,
            timing=row.timing,
            from_price=row.from_price_id,
            from_quantity=row.from_quantity,
            to_price=row.to_price_id,
            to_quantity=row.to_quantity,
            proration_date=row.proration_date,
            previewed_amount=previewed_amount,
            invoice=row.invoice_id or None,
            schedule=row.schedule_id or None,
        )
    return row


def _apply_now(row: SubscriptionChange, change: Target) -> list[dict]:
    data = change.data
    trialing = data.get("status") == "trialing"
    params: dict = {
        "items": [{"id": change.item["id"], "price": change.new.price_id, "quantity": change.new.quantity}],
        "proration_behavior": "none" if trialing else "always_invoice",
        "proration_date": row.proration_date,
        "expand": ["latest_invoice"],
    }
    if data.get("collection_method", "charge_automatically") == "charge_automatically" and not trialing:
        params["payment_behavior"] = "error_if_incomplete"  # declined: nothing changes, Stripe says why
    before = data.get("latest_invoice")
    before = before["id"] if isinstance(before, dict) else before
    subscription = gateway().post(
        f"/v1/subscriptions/{change.subscription.id}", params, idempotency_key=key_for("subscription.change", row)
    )
    objects = []
    invoice = subscription.get("latest_invoice")
    if isinstance(invoice, dict):
        objects.append(invoice)
        subscription = {**subscription, "latest_invoice": invoice["id"]}
        if invoice["id"] != before:
            row.invoice_id = invoice["id"]
    row.status = ChangeStatus.applied
    return [subscription, *objects]


def _failed(row: SubscriptionChange, change: Target, error: StripeGatewayError, actor) -> SubscriptionChange:
    row.status, row.error, row.done_at = ChangeStatus.failed, error.message[:2000], timezone.now()
    row.save(update_fields=["status", "error", "done_at"])
    audit(
        actor,
        "subscription.change.failed",
        object_type="djstripe.subscription",
        object_id=row.subscription_id,
        organisation=row.organisation,
        change=row.pk,
        label=change.decision.label,
        error=row.error,
        code=error.code,
        decline_code=error.decline_code,
    )
    return row


def cancel_scheduled(
    *, organisation: Organisation, subscription: Subscription, request_id: uuid.UUID, actor=None
) -> SubscriptionChange:
    """Drop the change waiting for the renewal; the subscription renews as it is."""
    existing = SubscriptionChange.objects.filter(request_id=request_id, organisation=organisation).first()
    if existing is not None:
        return existing
    pending = schedules.pending_changes([subscription]).get(subscription.id)
    if pending is None:
        raise SubscriptionError("There is no scheduled change to cancel.")
    row = SubscriptionChange.objects.create(
        request_id=request_id,
        organisation=organisation,
        subscription_id=subscription.id,
        kind=ChangeKind.release,
        schedule_id=pending.schedule_id,
        requested_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        schedules.release(pending.schedule_id, key=key_for("subscription_schedule.release", row))
    except StripeGatewayError as error:
        row.status, row.error = ChangeStatus.failed, error.message[:2000]
        row.save(update_fields=["status", "error"])
        raise SubscriptionError(error.message) from error
    with transaction.atomic():
        row.status, row.done_at = ChangeStatus.applied, timezone.now()
        row.save(update_fields=["status", "done_at"])
        SubscriptionChange.objects.filter(schedule_id=pending.schedule_id, status=ChangeStatus.scheduled).update(
            status=ChangeStatus.canceled
        )
        audit(
            actor,
            "subscription.change.cancel_scheduled",
            object_type="djstripe.subscription",
            object_id=subscription.id,
            organisation=organisation,
            schedule=pending.schedule_id,
            price=pending.price_id,
            quantity=pending.quantity,
        )
    return row
