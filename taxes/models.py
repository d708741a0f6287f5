"""Where the company collects tax, how (Stripe Tax or the portal's own rates), which rates it has
created at Stripe, and each customer's tax status."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_countries.fields import CountryField


class TaxMode(models.TextChoices):
    stripe_tax = "stripe_tax", "Stripe Tax (automatic tax)"
    portal_rates = "portal_rates", "Portal rates (Stripe tax rates the portal assigns)"


class TaxBehavior(models.TextChoices):
    exclusive = "exclusive", "Prices exclude tax (tax is added)"
    inclusive = "inclusive", "Prices include tax"


class TaxSettings(models.Model):
    """One row (pk 1): the mode, where the seller is established, and how prices carry tax."""

    mode = models.CharField(max_length=16, choices=TaxMode.choices, default=TaxMode.portal_rates)
    tax_behavior = models.CharField(max_length=10, choices=TaxBehavior.choices, default=TaxBehavior.exclusive)
    tax_code = models.CharField(
        max_length=20,
        default="txcd_10103001",
        help_text="Stripe Tax product tax code for the subscription (txcd_10103001: SaaS, business use)",
    )
    home_country = CountryField(default="US", help_text="Where the company is established")
    home_state = models.CharField(max_length=3, blank=True, help_text="State or province, for US and CA")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name_plural = "tax settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="taxsettings_singleton")]

    def __str__(self) -> str:
        return f"{self.get_mode_display()}, established in {self.home_country}"

    @classmethod
    def current(cls) -> TaxSettings:
        """The settings row, or the defaults (unsaved) before anyone saved any: one query to read."""
        return cls.objects.filter(pk=1).select_related("updated_by").first() or cls(pk=1)


class RegistrationType(models.TextChoices):
    vat = "vat", "VAT"
    gst = "gst", "GST / HST"
    sales_tax = "sales_tax", "Sales tax"
    consumption_tax = "consumption_tax", "Consumption tax"


class RegistrationScheme(models.TextChoices):
    standard = "standard", "Standard (this jurisdiction)"
    oss_union = "oss_union", "EU One-Stop Shop (union scheme)"


class Registration(models.Model):
    """The company is registered to collect tax in a jurisdiction from one day (to another)."""

    country = CountryField()
    state = models.CharField(max_length=3, blank=True, help_text="US state or Canadian province")
    tax_type = models.CharField(max_length=16, choices=RegistrationType.choices)
    scheme = models.CharField(max_length=12, choices=RegistrationScheme.choices, default=RegistrationScheme.standard)
    number = models.CharField(max_length=64, blank=True, help_text="The registration number the authority gave")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Empty: still registered")
    stripe_id = models.CharField(max_length=255, blank=True, db_index=True, help_text="Stripe Tax registration")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["country", "state", "-effective_from"]
        indexes = [models.Index(fields=["country", "state"], name="taxreg_place")]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=models.F("effective_from")),
                name="taxreg_period_forward",
            )
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction} {self.get_tax_type_display()} from {self.effective_from}"

    @property
    def jurisdiction(self) -> str:
        return f"{self.country}-{self.state}" if self.state else str(self.country)

    def active_on(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


class PortalTaxRate(models.Model):
    """A Stripe TaxRate the portal created for a jurisdiction. A rate change archives the old one
    (`active=False` at Stripe) and creates a new row; invoices keep the rate they were issued with."""

    jurisdiction = models.CharField(max_length=8, db_index=True)
    country = models.CharField(max_length=2)
    state = models.CharField(max_length=3, blank=True)
    display_name = models.CharField(max_length=50)
    tax_type = models.CharField(max_length=16)
    percentage = models.DecimalField(max_digits=7, decimal_places=4)
    inclusive = models.BooleanField(default=False)
    source = models.CharField(max_length=300, blank=True)
    as_of = models.DateField(null=True, blank=True)
    stripe_id = models.CharField(max_length=255, blank=True, db_index=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["jurisdiction", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percentage__gte=0) & Q(percentage__lte=100), name="portaltaxrate_percentage_range"
            ),
            models.UniqueConstraint(
                fields=["jurisdiction", "inclusive"], condition=Q(active=True), name="portaltaxrate_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} {self.jurisdiction} {self.percentage.normalize()}%"


class TaxStatus(models.TextChoices):
    taxable = "taxable", "Taxable"
    exempt = "exempt", "Exempt (certificate)"
    reverse_charge = "reverse_charge", "Reverse charge"


class CustomerType(models.TextChoices):
    business = "business", "Business"
    consumer = "consumer", "Consumer"


class CustomerTaxStatus(models.Model):
    """How an organisation is taxed: its kind, its tax ID as checked, an exemption and its certificate."""

    organisation = models.OneToOneField("accounts.Organisation", on_delete=models.CASCADE, related_name="tax_status")
    status = models.CharField(max_length=16, choices=TaxStatus.choices, default=TaxStatus.taxable)
    customer_type = models.CharField(max_length=10, choices=CustomerType.choices, default=CustomerType.business)
    state = models.CharField(max_length=3, blank=True, help_text="US state or Canadian province")
    tax_id_type = models.CharField(max_length=16, blank=True)
    tax_id_value = models.CharField(max_length=64, blank=True, help_text="Canonical form, checked with stdnum")
    tax_id_online = models.CharField(max_length=120, blank=True, help_text="What VIES/HMRC said, or why skipped")
    certificate_ref = models.CharField(max_length=120, blank=True)
    certificate_expires = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    stripe_tax_exempt = models.CharField(max_length=8, blank=True, help_text="What Stripe was last told")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "customer tax statuses"
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="exempt") | (~Q(certificate_ref="") & Q(certificate_expires__isnull=False)),
                name="taxstatus_exempt_has_certificate",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.get_status_display()}"
