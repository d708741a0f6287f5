"""Usage-based billing: meters, the events the product reports, their daily aggregates, the billing
periods reported to Stripe's meters, fair-billing credits and finance's corrections.

`UsageEvent` is the volume table: on PostgreSQL it is partitioned by day on `timestamp` (see
`schema.py`; beat makes the partitions ahead), on SQLite a plain table. Duplicates are refused by
`UsageEventKey` (organisation, event id), a plain table, because a unique index on a partitioned
table must include the partition key, and a retried event may come back with another timestamp.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Membership, Organisation


class Aggregation(models.TextChoices):
    sum = "sum", "Sum of values"
    count = "count", "Count of events"
    max = "max", "Maximum value"
    last = "last", "Last value"
    active_seats = "active_seats", "Active seats (fair billing)"


class Meter(models.Model):
    """What the product measures and how it is billed: one Stripe meter, a metered price per currency."""

    key = models.SlugField(max_length=64, unique=True, help_text="What the product sends as `meter`")
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=40, default="unit", help_text="One of what is counted: 'API call', 'GB'")
    aggregation = models.CharField(max_length=20, choices=Aggregation.choices)
    inactive_after_days = models.PositiveSmallIntegerField(
        default=14, help_text="Active seats: a member with no activity for this many days stops being billed"
    )
    stripe_meter_id = models.CharField(max_length=64, blank=True)
    stripe_event_name = models.CharField(max_length=100, blank=True)
    stripe_product_id = models.CharField(max_length=64, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_seats(self) -> bool:
        return self.aggregation == Aggregation.active_seats

    @property
    def stripe_formula(self) -> str:
        """Sums and counts go to Stripe as increments (formula `sum`); the others as the period's
        current value (formula `last`), since Stripe's meters have no `max`."""
        return "sum" if self.aggregation in (Aggregation.sum, Aggregation.count) else "last"


class MeterPrice(models.Model):
    """The metered price a meter bills through in one currency (unit amount in minor units)."""

    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3)
    unit_amount = models.BigIntegerField()
    stripe_price_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meter", "currency"], name="meterprice_meter_currency")]
        ordering = ["currency"]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.unit_amount} {self.currency}"


class ApiKey(models.Model):
    """A per-organisation key for the ingestion API. Shown once; only its SHA-256 is kept (the key
    is 32 random bytes, so a fast hash is safe); revocable."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="usage_api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The key's first characters, to recognise it")
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"


class UsageEvent(models.Model):
    """One reported event. The primary key is also the index every read uses (organisation, meter,
    time range), and includes the partition key as PostgreSQL requires."""

    pk = models.CompositePrimaryKey("organisation_id", "meter_id", "timestamp", "event_id")
    organisation = models.ForeignKey(Organisation, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    meter = models.ForeignKey(Meter, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    timestamp = models.DateTimeField()
    event_id = models.CharField(max_length=100)
    value = models.BigIntegerField()
    member = models.CharField(max_length=254, blank=True, help_text="Active seats: the member's email")
    properties = models.JSONField(default=dict)
    received_at = models.DateTimeField()
    late = models.BooleanField(default=False, help_text="Arrived after its billing period was invoiced")

    def __str__(self) -> str:
        return f"{self.event_id} {self.value}"


class UsageEventKey(models.Model):
    """(organisation, event id) seen: what makes a replayed event change nothing. Kept for the
    allowed lateness (older events are refused anyway), then pruned by beat."""

    pk = models.CompositePrimaryKey("organisation_id", "event_id")
    organisation = models.ForeignKey(Organisation, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    event_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.event_id


class UsageDay(models.Model):
    """Per organisation, meter and UTC day: kept by every ingested batch in the same statement."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    total = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0)
    maximum = models.BigIntegerField(default=0)
    last_value = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(null=True)
    late_events = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, help_text="Wall-clock time of the last batch that changed it")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "meter", "day"], name="usageday_unique")]
        indexes = [models.Index(fields=["meter", "day"], name="usageday_meter_day")]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.meter_id} {self.day}"


class SeatActivity(models.Model):
    """A member was active on a day (first and last time seen that day): what active seats count."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="seat_activity")
    day = models.DateField()
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["membership", "day"], name="seatactivity_unique")]
        indexes = [models.Index(fields=["organisation", "day"], name="seatactivity_org_day")]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.day}"


class UsagePeriod(models.Model):
    """A billing period of one metered subscription item: what we reported to Stripe for it, what
    Stripe says it has, and whether the period was invoiced (closed)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="usage_periods")
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="periods")
    customer_id = models.CharField(max_length=64)
    subscription_id = models.CharField(max_length=64)
    subscription_item_id = models.CharField(max_length=64)
    price_id = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3)
    unit_amount = models.BigIntegerField(null=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    reported_value = models.BigIntegerField(default=0)
    last_reported_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    invoice_id = models.CharField(max_length=64, blank=True)
    stripe_value = models.BigIntegerField(null=True, blank=True)
    our_value = models.BigIntegerField(null=True, blank=True, help_text="Our total at the last reconciliation")
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-start", "organisation_id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "meter", "start"], name="usageperiod_unique"),
        ]
        indexes = [
            models.Index(fields=["closed_at", "end"], name="usageperiod_open"),
            models.Index(fields=["customer_id", "start"], name="usageperiod_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.meter_id} {self.start:%Y-%m-%d}"

    @property
    def mismatch(self) -> bool:
        return self.reconciled_at is not None and self.stripe_value != self.our_value


class ReportStatus(models.TextChoices):
    pending = "pending", "Pending"
    sent = "sent", "Sent"
    failed = "failed", "Failed"
    cancelled = "cancelled", "Cancelled by an adjustment"


class MeterReport(models.Model):
    """One meter event sent to Stripe for a period. Its identifier is fixed before it is sent, so a
    crash between Stripe's answer and our commit re-sends the same identifier, which Stripe
    refuses as a duplicate: the usage counts once."""

    period = models.ForeignKey(UsagePeriod, on_delete=models.CASCADE, related_name="reports")
    sequence = models.PositiveIntegerField()
    value = models.BigIntegerField(help_text="An increment (sum meters) or the period's value (last meters)")
    identifier = models.CharField(max_length=100, unique=True)
    timestamp = models.DateTimeField(help_text="The meter event's time, inside the period")
    status = models.CharField(max_length=20, choices=ReportStatus.choices, default=ReportStatus.pending)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    correction = models.ForeignKey("UsageCorrection", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["period_id", "sequence"]
        constraints = [models.UniqueConstraint(fields=["period", "sequence"], name="meterreport_sequence")]
        indexes = [models.Index(fields=["status", "created_at"], name="meterreport_status")]

    def __str__(self) -> str:
        return self.identifier


class CorrectionRoute(models.TextChoices):
    meter_event = "meter_event", "Meter event (before invoicing)"
    invoice_item = "invoice_item", "Invoice item (after invoicing)"


class UsageCorrection(models.Model):
    """Finance's amendment of a period's usage, with the reason. Before the period is invoiced it
    reaches Stripe's meter (a meter event, or adjustments that cancel what was sent); after, an
    invoice item on the next invoice."""

    period = models.ForeignKey(UsagePeriod, on_delete=models.CASCADE, related_name="corrections")
    quantity = models.BigIntegerField(help_text="Units added (negative: removed)")
    reason = models.TextField()
    route = models.CharField(max_length=20, choices=CorrectionRoute.choices)
    late_events = models.BigIntegerField(default=0, help_text="Late events this correction bills")
    amount = models.BigIntegerField(null=True, blank=True, help_text="Invoice items: minor units")
    status = models.CharField(max_length=20, choices=ReportStatus.choices, default=ReportStatus.pending)
    stripe_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.quantity:+} ({self.route})"


class SeatCredit(models.Model):
    """Fair billing: a member billed for a period who went inactive during it; the unused part of
    the seat goes back to the organisation as a Stripe customer balance credit."""

    period = models.ForeignKey(UsagePeriod, on_delete=models.CASCADE, related_name="seat_credits")

    class Kind(models.TextChoices):
        credit = "credit", "Credit: went inactive"
        reactivation = "reactivation", "Charge: active again"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.credit)
    membership = models.ForeignKey(Membership, null=True, on_delete=models.SET_NULL, related_name="+")
    member_email = models.CharField(max_length=254)
    last_active_at = models.DateTimeField()
    inactive_from = models.DateTimeField(help_text="Start of the time credited (or, for a charge, charged)")
    unused_seconds = models.BigIntegerField()
    period_seconds = models.BigIntegerField()
    amount = models.BigIntegerField(help_text="Minor units credited or charged (positive)")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=ReportStatus.choices, default=ReportStatus.pending)
    stripe_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-inactive_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "member_email", "kind", "inactive_from"], name="seatcredit_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.member_email} {self.amount} {self.currency}"

    @property
    def signed_amount(self) -> int:
        """As it moves the customer's balance: a credit negative, a reactivation charge positive."""
        return -self.amount if self.kind == self.Kind.credit else self.amount
