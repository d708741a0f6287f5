"""A change scheduled for the renewal is applied by Stripe at that moment; its row follows by event."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from billing.stripe.models import StripeEvent
from billing.stripe.receivers import stripe_receiver
from billing.subscriptions.models import ChangeStatus, SubscriptionChange


@stripe_receiver(
    "subscription_schedule.updated",
    "subscription_schedule.released",
    "subscription_schedule.canceled",
    "subscription_schedule.completed",
)
def follow_schedule(event: StripeEvent, schedule: dict) -> None:
    """Entered the new phase: applied. Released or canceled before it: canceled. Safe to run twice."""
    phase_start = (schedule.get("current_phase") or {}).get("start_date") or 0
    ended_at = schedule.get("released_at") or schedule.get("canceled_at") or schedule.get("completed_at")
    for row in SubscriptionChange.objects.filter(schedule_id=schedule["id"], status=ChangeStatus.scheduled):
        effective = int(row.effective_at.timestamp()) if row.effective_at else None
        if effective and phase_start >= effective or (effective and ended_at and ended_at >= effective):
            row.status, row.done_at = ChangeStatus.applied, dt.datetime.fromtimestamp(effective, dt.UTC)
        elif schedule.get("status") in ("released", "canceled", "completed"):
            row.status, row.done_at = ChangeStatus.canceled, timezone.now()
        else:
            continue
        row.save(update_fields=["status", "done_at"])
