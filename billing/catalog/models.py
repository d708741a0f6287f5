"""What self-serve offers: which of the catalog's Stripe prices customers may choose, in which order.

Products and prices themselves live at Stripe and in the mirror; this is the portal's own choice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SelfServeOffer(models.Model):
    price_id = models.CharField(max_length=255, unique=True, help_text="A recurring Stripe price")
    position = models.PositiveIntegerField(default=100, help_text="Lower comes first")
    max_quantity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most seats self-serve may buy on this price (empty: no limit)"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.price_id} (#{self.position})"
