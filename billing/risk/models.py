"""Fraud and disputes, as the portal keeps them beside the mirror.

- `ReviewCase`, `WarningCase`, `DisputeCase`: one row per Radar review, early fraud warning and
  dispute, refreshed from the mirror (never from an event's snapshot) by receivers, so duplicated and
  out-of-order events leave them right. They hold the columns the queues filter and sort on, the
  product context that needs joins (the organisation through the customer), and what the portal
  decided. Amounts are minor units; `amount_reporting` is the amount in the reporting currency.
- `ReviewDecision`: a reviewer's decision as a row before anything goes to Stripe (its id is the
  idempotency key): approve, or refund and block.
- `RiskPolicy`: what finance set for early fraud warnings (refund automatically below a threshold).
- `EvidenceFile`, `DisputeReminder`: files sent to Stripe's files API for a dispute; reminders sent.
- `BlockListEntry`, `RadarList`: block lists kept here and synced to Radar value lists.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organisation


def _mirror_fk(model: str, column: str) -> models.ForeignKey:
    """A join to a mirrored row by its Stripe id, without a constraint: the row may arrive later."""
    return models.ForeignKey(
        model,
        to_field="id",
        db_column=column,
        db_constraint=False,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
    )


class CaseBase(models.Model):
    charge = _mirror_fk("djstripe.Charge", "charge_id")
    customer = _mirror_fk("djstripe.Customer", "customer_id")
    amount = models.BigIntegerField(default=0, help_text="Minor units of `currency`")
    currency = models.CharField(max_length=3, blank=True)
    amount_reporting = models.BigIntegerField(null=True, blank=True, help_text="In the reporting currency")
    created_at = models.DateTimeField(help_text="When Stripe created it")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @property
    def organisation(self) -> Organisation | None:
        try:
            return self.customer.organisation if self.customer_id and self.customer else None
        except Organisation.DoesNotExist:
            return None


class ReviewCase(CaseBase):
    review_id = models.CharField(primary_key=True, max_length=255)
    open = models.BooleanField(default=True)
    reason = models.CharField(max_length=32, blank=True)
    opened_reason = models.CharField(max_length=32, blank=True)
    closed_reason = models.CharField(max_length=32, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    risk_score = models.IntegerField(null=True, blank=True)
    risk_level = models.CharField(max_length=16, blank=True)
    rule = models.CharField(max_length=500, blank=True, help_text="The Radar rule that sent it to review")
    card_country = models.CharField(max_length=2, blank=True)
    card_fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    card_label = models.CharField(max_length=64, blank=True, help_text="Brand and last four")
    customer_country = models.CharField(max_length=2, blank=True)
    ip_address = models.CharField(max_length=64, blank=True)
    ip_country = models.CharField(max_length=2, blank=True)
    email = models.CharField(max_length=254, blank=True)
    email_domain = models.CharField(max_length=253, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["open", "-created_at"], name="review_open_created"),
            models.Index(fields=["open", "-risk_score"], name="review_open_score"),
        ]

    def __str__(self) -> str:
        return f"{self.review_id} ({'open' if self.open else self.closed_reason})"

    @property
    def countries_differ(self) -> bool:
        known = {c for c in (self.card_country, self.customer_country, self.ip_country) if c}
        return len(known) > 1


class DecisionKind(models.TextChoices):
    approve = "approve", "Approve"
    refund_block = "refund_block", "Refund and block"


class DecisionStatus(models.TextChoices):
    queued = "queued", "Queued"
    done = "done", "Done"
    skipped = "skipped", "Skipped"
    failed = "failed", "Stripe refused"


class ReviewDecision(models.Model):
    request_id = models.UUIDField(
        default=uuid.uuid4, unique=True, help_text="One per form (or per review of a bulk form)"
    )
    review = models.ForeignKey(ReviewCase, on_delete=models.DO_NOTHING, db_constraint=False, related_name="decisions")
    kind = models.CharField(max_length=16, choices=DecisionKind.choices)
    status = models.CharField(max_length=16, choices=DecisionStatus.choices, default=DecisionStatus.queued)
    reason = models.TextField()
    block = models.JSONField(default=list, blank=True, help_text="What to block: card_fingerprint, email, …")
    bulk = models.BooleanField(default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.review_id} ({self.status})"


class RiskPolicy(models.Model):
    """One row: how early fraud warnings are handled. Changes are audited."""

    auto_refund = models.BooleanField(default=False)
    refund_below = models.BigIntegerField(default=0, help_text="Minor units of `currency` (the reporting currency)")
    currency = models.CharField(max_length=3)
    block_card = models.BooleanField(default=False, help_text="Also block the card when refunding by policy")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"auto refund {'on' if self.auto_refund else 'off'} below {self.refund_below} {self.currency}"


class WarningOutcome(models.TextChoices):
    pending = "pending", "Waiting for the policy"
    refunding = "refunding", "Refund on its way"
    refunded_by_policy = "refunded_by_policy", "Refunded by policy"
    refunded_by_hand = "refunded_by_hand", "Refunded by a finance admin"
    above_threshold = "above_threshold", "Above the threshold: for a person"
    no_rate = "no_rate", "No FX rate: for a person"
    policy_off = "policy_off", "Policy off: for a person"
    not_actionable = "not_actionable", "Not actionable"
    already_refunded = "already_refunded", "Already refunded"
    disputed = "disputed", "Disputed before we acted"
    failed = "failed", "Stripe refused the refund"


class WarningCase(CaseBase):
    warning_id = models.CharField(primary_key=True, max_length=255)
    fraud_type = models.CharField(max_length=64, blank=True)
    actionable = models.BooleanField(default=True)
    outcome = models.CharField(max_length=24, choices=WarningOutcome.choices, default=WarningOutcome.pending)
    note = models.CharField(max_length=500, blank=True)
    refund_id = models.CharField(max_length=255, blank=True)
    threshold = models.BigIntegerField(null=True, blank=True, help_text="The policy's threshold when it was applied")
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["outcome", "-created_at"], name="warning_outcome_created")]

    def __str__(self) -> str:
        return f"{self.warning_id} ({self.outcome})"


NEEDS_RESPONSE = ("needs_response", "warning_needs_response")
UNDER_REVIEW = ("under_review", "warning_under_review")
CLOSED_STATUSES = ("won", "lost", "warning_closed", "prevented")


class DisputeCase(CaseBase):
    dispute_id = models.CharField(primary_key=True, max_length=255)
    status = models.CharField(max_length=32)
    reason = models.CharField(max_length=64, blank=True)
    network_reason_code = models.CharField(max_length=32, blank=True)
    due_by = models.DateTimeField(null=True, blank=True)
    has_evidence = models.BooleanField(default=False)
    submission_count = models.IntegerField(default=0)
    country = models.CharField(max_length=2, blank=True, help_text="The customer's billing country")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_by"]
        indexes = [
            models.Index(fields=["status", "due_by"], name="dispute_status_due"),
            models.Index(fields=["-created_at"], name="dispute_created"),
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} ({self.status})"

    @property
    def needs_response(self) -> bool:
        return self.status in NEEDS_RESPONSE

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def past_due(self) -> bool:
        return self.needs_response and self.due_by is not None and self.due_by <= timezone.now()


class EvidenceFile(models.Model):
    """A file sent to Stripe's files API for a dispute's evidence field."""

    file_id = models.CharField(primary_key=True, max_length=255)
    dispute = models.ForeignKey(DisputeCase, on_delete=models.DO_NOTHING, db_constraint=False, related_name="files")
    field = models.CharField(max_length=64)
    filename = models.CharField(max_length=255)
    size = models.IntegerField()
    type = models.CharField(max_length=8)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.file_id})"


class DisputeReminder(models.Model):
    dispute = models.ForeignKey(DisputeCase, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    days_before = models.IntegerField()
    due_by = models.DateTimeField(help_text="The due date the reminder was for (a moved date reminds again)")
    recipients = models.TextField(blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dispute", "days_before", "due_by"], name="dispute_reminder_once")
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id}: {self.days_before} days"


class BlockKind(models.TextChoices):
    email = "email", "Email address"
    email_domain = "email_domain", "Email domain"
    card_fingerprint = "card_fingerprint", "Card fingerprint"
    country = "country", "Country"


class SyncStatus(models.TextChoices):
    pending = "pending", "Syncing to Radar"
    synced = "synced", "In Radar"
    failed = "failed", "Radar sync failed (retried)"
    removed = "removed", "Removed from Radar"


class BlockListEntry(models.Model):
    kind = models.CharField(max_length=20, choices=BlockKind.choices)
    value = models.CharField(max_length=254)
    reason = models.TextField()
    source = models.CharField(max_length=255, blank=True, help_text="A review, a warning, or empty (by hand)")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sync_status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.pending)
    stripe_item_id = models.CharField(max_length=255, blank=True)
    sync_error = models.TextField(blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    hits = models.IntegerField(default=0, help_text="Self-serve attempts it stopped")
    last_hit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"], condition=models.Q(removed_at__isnull=True), name="blocklist_active_once"
            )
        ]
        indexes = [models.Index(fields=["sync_status"], name="blocklist_sync")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"

    @property
    def active(self) -> bool:
        return self.removed_at is None


class RadarList(models.Model):
    """The Radar value list one kind of entry is synced to (Radar rules name it `@alias`)."""

    kind = models.CharField(max_length=20, choices=BlockKind.choices, unique=True)
    alias = models.CharField(max_length=100)
    stripe_id = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"@{self.alias}"
