"""Radar reviews, early fraud warnings and disputes kept as cases from Stripe's events; a warning
hands itself to the auto-refund policy (a Celery task, after the event's transaction commits)."""

from __future__ import annotations

from django.db import transaction

from billing.risk import cases
from billing.risk.models import WarningOutcome
from billing.stripe import queue
from billing.stripe.models import StripeEvent
from billing.stripe.receivers import stripe_receiver

APPLY_POLICY = "billing.risk.tasks.apply_warning_policy"


@stripe_receiver("review.opened", "review.closed")
def review_changed(event: StripeEvent, review: dict) -> None:
    cases.review_refresh(review["id"], at=event.created)


@stripe_receiver("radar.early_fraud_warning.created", "radar.early_fraud_warning.updated")
def warning_changed(event: StripeEvent, warning: dict) -> None:
    case = cases.warning_refresh(warning["id"])
    if case is not None and case.outcome == WarningOutcome.pending:
        transaction.on_commit(lambda: queue.send(APPLY_POLICY, case.pk))


@stripe_receiver(
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)
def dispute_changed(event: StripeEvent, dispute: dict) -> None:
    cases.dispute_refresh(dispute["id"], at=event.created)


@stripe_receiver("charge.succeeded", "charge.updated", "charge.refunded", "charge.captured")
def charge_changed(event: StripeEvent, charge: dict) -> None:
    cases.refresh_for_charge(charge["id"])


@stripe_receiver("customer.created", "customer.updated")
def customer_changed(event: StripeEvent, customer: dict) -> None:
    cases.refresh_for_customer(customer["id"])
