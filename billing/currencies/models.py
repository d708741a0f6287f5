"""Exchange rates finance keeps: to convert reports into one reporting currency, and for launches."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class FxRate(models.Model):
    """1 unit (major) of `currency` is worth `rate` units of `quote` on `day`, per `source`."""

    currency = models.CharField(max_length=3, help_text="ISO 4217, lower case")
    quote = models.CharField(max_length=3, help_text="The currency the rate is in (the reporting currency)")
    rate = models.DecimalField(max_digits=24, decimal_places=12, validators=[MinValueValidator(0)])
    day = models.DateField()
    source = models.CharField(max_length=200, help_text="Where the rate comes from, e.g. ECB reference rate")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "quote", "day"], name="fxrate_one_per_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fxrate_positive"),
        ]
        indexes = [models.Index(fields=["quote", "currency", "-day"], name="fxrate_lookup")]

    def __str__(self) -> str:
        return f"1 {self.currency.upper()} = {self.rate} {self.quote.upper()} on {self.day}"


class CountryCurrency(models.Model):
    """A country's billing currency and local payment methods, when they differ from the defaults in
    `countries.py` (a currency launch writes these; a rollback removes them)."""

    country = models.CharField(max_length=2, unique=True)
    currency = models.CharField(max_length=3)
    payment_methods = models.JSONField(default=list, blank=True, help_text="Stripe payment method types")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "country currencies"

    def __str__(self) -> str:
        return f"{self.country}: {self.currency.upper()}"


class LaunchStatus(models.TextChoices):
    draft = "draft", "Draft"
    previewed = "previewed", "Previewed"
    approved = "approved", "Approved"
    running = "running", "Running"
    live = "live", "Live"
    failed = "failed", "Failed"
    rolling_back = "rolling_back", "Rolling back"
    rolled_back = "rolled_back", "Rolled back"


class RoundingMode(models.TextChoices):
    nearest = "nearest", "Nearest"
    up = "up", "Up"
    down = "down", "Down"


class Launch(models.Model):
    """A currency going live in some countries: its price book, who did each step, and the job.

    draft → previewed (the book built from the FX snapshot and the rule) → approved (by another
    finance admin; the book is frozen) → running (Celery creates the Stripe prices) → live (the
    countries switch to the currency), or failed; live and failed launches can be rolled back.
    """

    currency = models.CharField(max_length=3, help_text="The currency launched, ISO 4217 lower case")
    source_currency = models.CharField(max_length=3, help_text="The catalog prices converted from")
    countries = models.JSONField(default=list, help_text="ISO 3166 codes going live in the currency")
    methods = models.JSONField(default=dict, blank=True, help_text="Country → local payment methods switched on")
    note = models.CharField(max_length=500, blank=True)
    rounding_mode = models.CharField(max_length=8, choices=RoundingMode.choices, default=RoundingMode.nearest)
    charm_ending = models.CharField(max_length=6, blank=True, help_text="Last digits in minor units, e.g. 99")
    sibling_tolerance = models.DecimalField(
        max_digits=5, decimal_places=2, default=10, help_text="Flag prices this many % away from another currency's"
    )
    status = models.CharField(max_length=16, choices=LaunchStatus.choices, default=LaunchStatus.draft)
    # The FX snapshot the book was built with (at preview).
    fx_rate = models.DecimalField(max_digits=30, decimal_places=12, null=True, blank=True)
    fx_as_of = models.DateField(null=True, blank=True)
    fx_source = models.CharField(max_length=500, blank=True)
    minimum_charge = models.BigIntegerField(null=True, blank=True, help_text="Stripe's minimum, minor units")
    minimum_basis = models.CharField(max_length=100, blank=True)
    book_digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the approved book")
    previous_mapping = models.JSONField(default=dict, blank=True, help_text="Country rows before go-live")
    # Who did each step, and when.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    previewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    previewed_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="Went live, or failed")
    went_live_at = models.DateTimeField(null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rollback_reason = models.CharField(max_length=500, blank=True)
    rollback_finished_at = models.DateTimeField(null=True, blank=True)
    # The job: a pause after Stripe stopped answering, the last error, the last sign of life.
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="launch_status")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=LaunchStatus.values), name="launch_status_known"),
            models.CheckConstraint(condition=~models.Q(currency=models.F("source_currency")), name="launch_converts"),
        ]

    def __str__(self) -> str:
        return f"{self.currency.upper()} for {', '.join(self.countries)} (#{self.pk})"


class RowState(models.TextChoices):
    pending = "pending", "To create"
    created = "created", "Created"
    failed = "failed", "Failed"
    archived = "archived", "Archived"


class LaunchRow(models.Model):
    """One price of the book: a source catalog price, converted, rounded, maybe overridden; then the
    Stripe price created for it (once: the row's idempotency key and lookup key)."""

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="rows")
    source_price_id = models.CharField(max_length=255)
    product_id = models.CharField(max_length=255)
    product_name = models.CharField(max_length=255, blank=True)
    nickname = models.CharField(max_length=255, blank=True)
    interval = models.CharField(max_length=8)
    interval_count = models.PositiveSmallIntegerField(default=1)
    tax_behavior = models.CharField(max_length=16, blank=True)
    source_amount = models.BigIntegerField(help_text="Minor units of the source currency")
    converted = models.DecimalField(max_digits=30, decimal_places=6, help_text="Major units, before rounding")
    rounded = models.BigIntegerField(help_text="Minor units, by the rule")
    override_amount = models.BigIntegerField(null=True, blank=True)
    override_reason = models.CharField(max_length=300, blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override_at = models.DateTimeField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    lookup_key = models.CharField(max_length=200)
    transfer_lookup_key = models.BooleanField(default=False, help_text="The key is held by an archived price")
    offer_position = models.PositiveIntegerField(null=True, blank=True, help_text="Offered to self-serve at")
    offer_max_quantity = models.PositiveIntegerField(null=True, blank=True)
    # The job.
    state = models.CharField(max_length=10, choices=RowState.choices, default=RowState.pending)
    stripe_price_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    retry_round = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "source_price_id"], name="launchrow_one_per_source"),
            models.UniqueConstraint(fields=["launch", "lookup_key"], name="launchrow_lookup_key"),
        ]
        indexes = [models.Index(fields=["launch", "state"], name="launchrow_state")]

    def __str__(self) -> str:
        return f"{self.lookup_key}: {self.amount}"

    @property
    def amount(self) -> int:
        """The price the launch creates: the override if any, else the rounded amount."""
        return self.override_amount if self.override_amount is not None else self.rounded
