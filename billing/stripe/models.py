from __future__ import annotations

from django.db import models
from django.utils import timezone


class EventStatus(models.TextChoices):
    received = "received", "Received"
    processing = "processing", "Processing"
    applied = "applied", "Applied"
    ignored = "ignored", "Ignored"
    failed = "failed", "Failed (retrying)"
    dead = "dead", "Failed (dead letter)"


class StripeEventQuerySet(models.QuerySet):
    def needing_attention(self):
        return self.filter(status__in=[EventStatus.failed, EventStatus.dead])

    def due_for_retry(self, now=None):
        return self.filter(status=EventStatus.failed, next_attempt_at__lte=now or timezone.now())


class StripeEvent(models.Model):
    """Every Stripe event, stored once by its id, with what became of it."""

    id = models.CharField(primary_key=True, max_length=255)
    type = models.CharField(max_length=100)
    api_version = models.CharField(max_length=64, blank=True)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(help_text="When Stripe created the event")
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.received)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    objects = StripeEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # Few indexes, and partial where they can be: the intake pays for each on every insert.
            models.Index(
                fields=["status", "next_attempt_at"],
                name="stripeevent_attention",
                condition=models.Q(status__in=["failed", "dead", "processing"]),
            ),
            models.Index(fields=["received_at"], name="stripeevent_queue", condition=models.Q(status="received")),
            models.Index(fields=["object_id", "created"], name="stripeevent_object_created"),
            models.Index(fields=["-created", "-id"], name="stripeevent_created_desc"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class ObjectVersion(models.Model):
    """The newest state applied for one Stripe object: an older event never overwrites it."""

    stripe_id = models.CharField(primary_key=True, max_length=255)
    object_type = models.CharField(max_length=64)
    event_created = models.BigIntegerField(help_text="Unix time of the event (or write) last applied")
    rank = models.SmallIntegerField(default=1, help_text="created < updated < deleted within one second")
    event_id = models.CharField(max_length=255, blank=True)
    deleted = models.BooleanField(default=False)
    settled = models.BooleanField(
        default=False, help_text="Written from Stripe's answer to a same-second tie: no event of that second is newer"
    )

    def __str__(self) -> str:
        return f"{self.stripe_id}@{self.event_created}"


class WebhookEndpoint(models.Model):
    """An endpoint the portal registered with Stripe (or the sandbox) and the secret it signs with."""

    # Empty until Stripe answered: the row exists first so the create call's idempotency key is ours.
    stripe_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    url = models.URLField(max_length=500)
    api_base = models.CharField(max_length=255)
    api_version = models.CharField(max_length=64)
    secret = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.stripe_id} -> {self.url}"


class IntakeRejection(models.Model):
    """Counts of refused webhook deliveries by reason (bad signature, not JSON, ...), per day."""

    day = models.DateField(default=timezone.localdate)
    reason = models.CharField(max_length=64)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "reason"], name="intakerejection_day_reason")]

    def __str__(self) -> str:
        return f"{self.day} {self.reason}: {self.count}"


class BackfillCursor(models.Model):
    """Where a backfill of one object type got to, so an interrupted run resumes there."""

    object_type = models.CharField(primary_key=True, max_length=64)
    starting_after = models.CharField(max_length=255, blank=True)
    written = models.PositiveIntegerField(default=0)
    done = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.object_type}: {self.written}{' (done)' if self.done else ''}"


class DriftReport(models.Model):
    """What a reconciliation found between the mirror and Stripe."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    object_types = models.JSONField(default=list)
    sampled = models.PositiveIntegerField(null=True, blank=True, help_text="Sample size per type; empty = full")
    repaired = models.BooleanField(default=False)
    summary = models.JSONField(default=dict, help_text="Per type: checked, missing_here, missing_there, differ")
    details = models.JSONField(default=list, help_text="Up to 1,000 differences: type, id, kind, fields")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Drift report {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def total_drift(self) -> int:
        return sum(
            v.get("missing_here", 0) + v.get("missing_there", 0) + v.get("differ", 0) for v in self.summary.values()
        )
