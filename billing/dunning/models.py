"""Dunning: policies finance edits, and a case per failed invoice with its attempts, emails and events.

Times on a case (`opened_at`, `next_attempt_at`, an attempt's `at`) are the customer's time: the
wall clock, or the frozen time of the customer's Stripe test clock (`ClockTime`), so a schedule of
"day 1, 3, 5 after the first failure" follows a test clock as it advances exactly as it follows
real days. Money is integer minor units of the case's currency.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from billing.currencies.countries import CHARGED_METHOD_CHOICES


class Segment(models.TextChoices):
    enterprise = "enterprise", "Enterprise"
    self_serve = "self_serve", "Self-serve"


class FinalAction(models.TextChoices):
    mark_uncollectible = "mark_uncollectible", "Mark the invoice uncollectible"
    cancel_subscription = "cancel_subscription", "Cancel the subscription"
    leave_open = "leave_open", "Leave it open for the account manager"


METHOD_TYPES = CHARGED_METHOD_CHOICES


class EmailTemplate(models.Model):
    """A dunning email. `{{ placeholder }}` fields are filled per case (see emails.PLACEHOLDERS)."""

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Policy(models.Model):
    """Which failed invoices it applies to, its schedule of attempts, and what happens at the end.

    The first active policy by priority (lowest number first) that matches an invoice applies; the
    default policy matches every invoice and is tried last. Empty criteria match anything."""

    name = models.CharField(max_length=100, unique=True)
    priority = models.PositiveIntegerField(unique=True, help_text="Lower numbers are tried first")
    is_default = models.BooleanField(default=False, editable=False)
    active = models.BooleanField(default=True)
    segment = models.CharField(max_length=16, choices=Segment.choices, blank=True)
    countries = models.JSONField(default=list, blank=True, help_text="ISO country codes; empty: any")
    plans = models.JSONField(default=list, blank=True, help_text="Stripe product ids; empty: any")
    currency = models.CharField(max_length=3, blank=True)
    amount_min = models.BigIntegerField(null=True, blank=True, help_text="Minor units of `currency`")
    amount_max = models.BigIntegerField(null=True, blank=True, help_text="Minor units of `currency`")
    method_types = models.JSONField(default=list, blank=True, help_text="Payment method types; empty: any")
    max_attempts = models.PositiveSmallIntegerField(default=4)
    final_action = models.CharField(max_length=24, choices=FinalAction.choices, default=FinalAction.leave_open)
    opening_email = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    final_email = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recovered_email = models.ForeignKey(
        EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["is_default", "priority"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.name


class PolicyStep(models.Model):
    """An attempt `day` days after the first failure, and the email sent when it fails."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="steps")
    day = models.PositiveSmallIntegerField()
    email = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["policy", "day"]
        constraints = [models.UniqueConstraint(fields=["policy", "day"], name="dunning_step_day_once")]

    def __str__(self) -> str:
        return f"{self.policy}: day {self.day}"


class ClockTime(models.Model):
    """The frozen time of a Stripe test clock, kept from its events (the portal's "now" for its customers)."""

    id = models.CharField(primary_key=True, max_length=255)
    frozen_time = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.id} at {self.frozen_time:%Y-%m-%d %H:%M}"


class CaseStatus(models.TextChoices):
    scheduled = "scheduled", "Scheduled"
    in_progress = "in_progress", "In progress"
    needs_method = "needs_method", "Needs a new payment method"
    paused = "paused", "Paused"
    recovered = "recovered", "Recovered"
    exhausted = "exhausted", "Exhausted"
    stopped = "stopped", "Stopped"


OPEN_STATUSES = (CaseStatus.scheduled, CaseStatus.in_progress, CaseStatus.needs_method, CaseStatus.paused)


class Resolution(models.TextChoices):
    retry = "retry", "Recovered by a dunning attempt"
    customer = "customer", "Paid by the customer"
    out_of_band = "out_of_band", "Paid outside Stripe"
    voided = "voided", "Invoice voided"
    uncollectible = "uncollectible", "Marked uncollectible by finance"
    final_action = "final_action", "Schedule exhausted"


class Case(models.Model):
    invoice_id = models.CharField(max_length=255, unique=True)
    customer_id = models.CharField(max_length=255, db_index=True)
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="dunning_cases"
    )
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.scheduled)
    needs_new_method = models.BooleanField(default=False, help_text="A hard decline: no retry until a new method")
    invoice_number = models.CharField(max_length=255, blank=True)
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    subscription_id = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3)
    amount_due = models.BigIntegerField(help_text="Minor units still due when the case opened")
    method_type = models.CharField(max_length=32, blank=True)
    country = models.CharField(max_length=2, blank=True)
    segment = models.CharField(max_length=16, choices=Segment.choices, blank=True)
    plan = models.CharField(max_length=255, blank=True, help_text="Stripe product id")
    clock = models.ForeignKey(
        ClockTime, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    opened_at = models.DateTimeField(help_text="The first failure, in the customer's time")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_step_day = models.IntegerField(default=-1, help_text="The last step of the schedule used (its day)")
    attempts_made = models.PositiveSmallIntegerField(default=0)
    last_decline_code = models.CharField(max_length=64, blank=True)
    stripe_retries_off = models.BooleanField(default=False, help_text="auto_advance=false set on the invoice")
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    recovered_amount = models.BigIntegerField(default=0)
    recovered_charge_id = models.CharField(max_length=255, blank=True)
    recovered_attempt = models.PositiveSmallIntegerField(null=True, blank=True)
    final_action = models.CharField(max_length=24, choices=FinalAction.choices, blank=True)
    final_action_status = models.CharField(max_length=16, blank=True, help_text="pending, done or failed")
    final_action_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="dunning_case_due"),
            models.Index(fields=["organisation", "status"], name="dunning_case_org"),
            models.Index(fields=["closed_at"], name="dunning_case_closed"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_number or self.invoice_id} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AttemptStatus(models.TextChoices):
    queued = "queued", "Queued"
    sending = "sending", "Sending"
    processing = "processing", "Processing (bank debit)"
    succeeded = "succeeded", "Succeeded"
    failed = "failed", "Failed"
    skipped = "skipped", "Skipped"


IN_FLIGHT = (AttemptStatus.queued, AttemptStatus.sending, AttemptStatus.processing)


class Attempt(models.Model):
    """One payment attempt of a case: a step of its schedule (`step` = the step's day) or a manual retry.

    The row exists before anything goes to Stripe; its idempotency key is unique to (invoice, step),
    so a repeated or duplicated task replays Stripe's first answer instead of charging again."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    step = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The step's day; empty for manual")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.queued)
    payment_method_id = models.CharField(max_length=255, blank=True, help_text="Sent explicitly (a newer method)")
    scheduled_for = models.DateTimeField(help_text="Customer's time")
    at = models.DateTimeField(null=True, blank=True, help_text="When it was made, customer's time")
    lease_until = models.DateTimeField(null=True, blank=True)
    sends = models.PositiveSmallIntegerField(default=0)
    first_sent_at = models.DateTimeField(null=True, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    charge_id = models.CharField(max_length=255, blank=True)
    decline_code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["case", "number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="dunning_attempt_number_once"),
            models.UniqueConstraint(
                fields=["case", "step"], condition=models.Q(step__isnull=False), name="dunning_attempt_step_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "lease_until"],
                name="dunning_attempt_inflight",
                condition=models.Q(status__in=["queued", "sending", "processing"]),
            ),
            models.Index(fields=["payment_intent_id"], name="dunning_attempt_pi"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.case}"

    @property
    def manual(self) -> bool:
        return self.step is None


class EmailKind(models.TextChoices):
    opening = "opening", "Payment failed"
    step = "step", "Retry failed"
    final = "final", "Final notice"
    recovered = "recovered", "Payment received"


class DunningEmail(models.Model):
    """An email of a case: written (rendered) once per case, kind and step, then sent by a task."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=16, choices=EmailKind.choices)
    step = models.IntegerField(default=-1, help_text="The step's day for step emails")
    template = models.ForeignKey(EmailTemplate, null=True, on_delete=models.SET_NULL, related_name="+")
    to = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    status = models.CharField(max_length=16, default="queued", help_text="queued, sending, sent or failed")
    error = models.TextField(blank=True)
    at = models.DateTimeField(help_text="Customer's time")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind", "step"], name="dunning_email_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to}"


class CaseEvent(models.Model):
    """What happened to a case besides attempts and emails (opened, paused, settled, final action…)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    message = models.TextField()
    at = models.DateTimeField(help_text="Customer's time")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=255, blank=True, help_text="A Stripe event id, when one caused it")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message[:60]}"


class OrganisationPause(models.Model):
    """Dunning paused for an organisation (no scheduled attempt is made until it is resumed)."""

    organisation = models.OneToOneField("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    paused_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    paused_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"dunning paused for {self.organisation}"


class Restriction(models.Model):
    """The product restricted an organisation after a case ended unpaid (entitlements.py keeps it)."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="restrictions")
    restricted_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case"], name="dunning_restriction_once")]

    def __str__(self) -> str:
        return f"{self.organisation} restricted" + (" (lifted)" if self.lifted_at else "")
