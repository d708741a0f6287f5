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
