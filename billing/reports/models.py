"""The revenue ledgers the dashboard reads: kept up to date from Stripe events, rebuilt from the mirror.

- `SubscriptionMrr`: each subscription's current MRR (what the ledger last recorded for it).
- `MrrMovement`: one row per change of a subscription's MRR, classified by what happened to its
  customer (new, expansion, contraction, churn, reactivation).
- `PaymentFact`: one row per payment outcome (a charge that succeeded or failed, a refund, an
  invoice paid outside Stripe), with the method type and country the analytics slice by.
- `MonthlyTotal`: the two ledgers summed per month, currency and kind, maintained in the same
  transaction as each ledger row: the dashboard is a read of a few hundred rows.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.signals import UpdateSignallingQuerySet


class MovementKind(models.TextChoices):
    new = "new", "New"
    expansion = "expansion", "Expansion"
    contraction = "contraction", "Contraction"
    churn = "churn", "Churn"
    reactivation = "reactivation", "Reactivation"


class SubscriptionMrr(models.Model):
    subscription_id = models.CharField(primary_key=True, max_length=255)
    customer_id = models.CharField(max_length=255, db_index=True)
    currency = models.CharField(max_length=3)
    mrr = models.BigIntegerField(help_text="Minor units per month")
    status = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = UpdateSignallingQuerySet.as_manager()  # the subscription list shows it: update()s reach its cache

    class Meta:
        indexes = [
            # The dashboard counts paying and trialing subscriptions from these alone.
            models.Index(fields=["subscription_id"], name="subscriptionmrr_paying", condition=models.Q(mrr__gt=0)),
            models.Index(fields=["status"], name="subscriptionmrr_trialing", condition=models.Q(status="trialing")),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.mrr} {self.currency}"


class MrrMovement(models.Model):
    subscription_id = models.CharField(max_length=255)
    customer_id = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=16, choices=MovementKind.choices)
    amount = models.BigIntegerField(help_text="Change of MRR, minor units, signed")
    mrr_after = models.BigIntegerField(help_text="The subscription's MRR after the change")
    effective_at = models.DateTimeField()
    source = models.CharField(max_length=255, blank=True, help_text="The Stripe event, or 'rebuild'")

    class Meta:
        ordering = ["-effective_at", "-id"]
        indexes = [
            models.Index(fields=["customer_id", "effective_at"], name="mrrmove_customer"),
            models.Index(fields=["subscription_id", "effective_at"], name="mrrmove_subscription"),
            models.Index(fields=["effective_at"], name="mrrmove_effective"),
        ]

    def __str__(self) -> str:
        return f"{self.effective_at:%Y-%m-%d} {self.kind} {self.amount} {self.currency}"


class PaymentKind(models.TextChoices):
    succeeded = "succeeded", "Collected"
    failed = "failed", "Failed"
    refunded = "refunded", "Refunded"
    out_of_band = "out_of_band", "Paid outside Stripe"


class PaymentFact(models.Model):
    source_id = models.CharField(max_length=255, help_text="Charge, refund or invoice id")
    kind = models.CharField(max_length=16, choices=PaymentKind.choices)
    amount = models.BigIntegerField(help_text="Minor units (refunds positive)")
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    customer_id = models.CharField(max_length=255, blank=True)
    invoice_id = models.CharField(max_length=255, blank=True)
    method_type = models.CharField(max_length=32, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="The customer's billing country")
    failure_code = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "source_id"], name="paymentfact_once")]
        indexes = [models.Index(fields=["occurred_at"], name="paymentfact_when")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} {self.source_id}"


class MonthlyTotal(models.Model):
    """Sum and count per (ledger, month, currency, kind). `ledger`: "mrr" or "payments"."""

    ledger = models.CharField(max_length=16)
    month = models.DateField(help_text="First day of the month, UTC")
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=16)
    amount = models.BigIntegerField(default=0)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ledger", "month", "currency", "kind"], name="monthlytotal_key")]

    def __str__(self) -> str:
        return f"{self.ledger} {self.month:%Y-%m} {self.kind}: {self.amount} {self.currency}"


class LedgerCheck(models.Model):
    """What the reconciliation found comparing the MRR ledger with the mirror's subscriptions."""

    created_at = models.DateTimeField(default=timezone.now)
    checked = models.PositiveIntegerField(default=0)
    differing = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=list, help_text="Up to 200: subscription, ledger MRR, mirror MRR")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Ledger check {self.created_at:%Y-%m-%d %H:%M}: {self.differing} of {self.checked} differ"
