"""What a customer's billing admin asked Stripe to do to their customer (payment methods, billing
details, tax IDs), one row per request: `request_id` from the form makes a double submit find the
same row, and the row's key is the idempotency key of the call to Stripe."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organisation


class RequestKind(models.TextChoices):
    setup_intent = "setup_intent", "Start adding a payment method"
    payment_method_add = "payment_method_add", "Save a payment method"
    verify_microdeposits = "verify_microdeposits", "Verify a bank account"
    default_payment_method = "default_payment_method", "Set the default payment method"
    detach_payment_method = "detach_payment_method", "Remove a payment method"
    billing_details = "billing_details", "Update billing details"
    tax_id_add = "tax_id_add", "Add a tax ID"
    tax_id_remove = "tax_id_remove", "Remove a tax ID"


class RequestStatus(models.TextChoices):
    sending = "sending", "Sending to Stripe"
    done = "done", "Done"
    failed = "failed", "Stripe refused"


class CustomerRequest(models.Model):
    request_id = models.UUIDField(default=uuid.uuid4, unique=True, help_text="One per form")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="customer_requests")
    kind = models.CharField(max_length=32, choices=RequestKind.choices)
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.sending)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="custreq_org_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"
