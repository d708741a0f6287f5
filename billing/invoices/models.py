"""What finance asked to do to an invoice, and what came of it.

Each action is a row before anything goes to Stripe: its id is the idempotency key (a double
submit, a retried task or a crash between Stripe's answer and ours sends the same key), it holds
the reason, the approval when the amount calls for a second admin, and Stripe's answer or error.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ActionKind(models.TextChoices):
    retry = "retry", "Retry payment"
    void = "void", "Void"
    mark_uncollectible = "mark_uncollectible", "Mark uncollectible"
    send = "send", "Send to the customer"
    credit_note = "credit_note", "Credit note"
    paid_out_of_band = "paid_out_of_band", "Mark paid outside Stripe"


class ActionStatus(models.TextChoices):
    awaiting_approval = "awaiting_approval", "Waiting for a second admin"
    queued = "queued", "Queued"
    done = "done", "Done"
    failed = "failed", "Stripe refused"
    rejected = "rejected", "Rejected"


class InvoiceAction(models.Model):
    request_id = models.UUIDField(default=uuid.uuid4, unique=True, help_text="One per confirmation form")
    invoice_id = models.CharField(max_length=255, db_index=True)
    customer_id = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=24, choices=ActionKind.choices)
    status = models.CharField(max_length=24, choices=ActionStatus.choices, default=ActionStatus.queued)
    reason = models.TextField()
    params = models.JSONField(default=dict, blank=True)
    amount = models.BigIntegerField(default=0, help_text="Minor units of the invoice's currency at stake")
    currency = models.CharField(max_length=3, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="invoice_actions"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="What Stripe answered (ids, statuses)")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["status", "created_at"],
                name="invaction_pending",
                condition=models.Q(status="awaiting_approval"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.invoice_id} ({self.get_status_display()})"


class CreditNote(models.Model):
    """Stripe's credit notes (dj-stripe has no model for them), written through and kept by events."""

    id = models.CharField(primary_key=True, max_length=255)
    invoice_id = models.CharField(max_length=255, db_index=True)
    customer_id = models.CharField(max_length=255, db_index=True)
    number = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16)
    kind = models.CharField(max_length=16, help_text="pre_payment or post_payment")
    total = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=64, blank=True)
    memo = models.TextField(blank=True)
    created = models.DateTimeField()
    stripe_data = models.JSONField()

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["created"], name="creditnote_created")]

    def __str__(self) -> str:
        return f"{self.number or self.id} {self.total} {self.currency}"
