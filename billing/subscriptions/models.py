"""What a customer asked to change on a subscription, and what came of it.

Each request is a row before anything goes to Stripe: its `request_id` comes from the form (a
double submit finds the same row and sends nothing again) and its primary key is the idempotency
key (a retry after a crash sends the same key, and Stripe answers as it did the first time).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organisation


class ChangeKind(models.TextChoices):
    plan = "plan", "Change plan, seats or billing frequency"
    cancel = "cancel", "Cancel at the end of the period"
    resume = "resume", "Resume"
    release = "release", "Cancel a scheduled change"
    payment_method = "payment_method", "Change the payment method"


class ChangeStatus(models.TextChoices):
    sending = "sending", "Sending to Stripe"
    applied = "applied", "Applied"
    scheduled = "scheduled", "Scheduled for the renewal"
    failed = "failed", "Stripe refused"
    canceled = "canceled", "Canceled before it applied"


class Timing(models.TextChoices):
    now = "now", "Now"
    period_end = "period_end", "At the end of the period"


class SubscriptionChange(models.Model):
    request_id = models.UUIDField(default=uuid.uuid4, unique=True, help_text="One per confirmation form")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="subscription_changes")
    subscription_id = models.CharField(max_length=255, db_index=True)
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    status = models.CharField(max_length=20, choices=ChangeStatus.choices, default=ChangeStatus.sending)
    timing = models.CharField(max_length=20, choices=Timing.choices, blank=True)
    from_price_id = models.CharField(max_length=255, blank=True)
    from_quantity = models.PositiveIntegerField(null=True, blank=True)
    to_price_id = models.CharField(max_length=255, blank=True)
    to_quantity = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    proration_date = models.BigIntegerField(null=True, blank=True, help_text="Unix time the preview prorated at")
    effective_at = models.DateTimeField(null=True, blank=True, help_text="When a scheduled change applies")
    previewed_amount = models.BigIntegerField(
        null=True, blank=True, help_text="Minor units the preview showed: due now, or the next invoice when scheduled"
    )
    invoice_id = models.CharField(max_length=255, blank=True, help_text="The invoice Stripe issued for it")
    schedule_id = models.CharField(max_length=255, blank=True)
    payment_method_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="subchange_org_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subscription_id} ({self.get_status_display()})"
