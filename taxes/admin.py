"""Engineers on call see the tax rows in the Django admin, read-only: registrations, rates and
customer statuses change through the Taxes pages (and so through Stripe and the audit log)."""

from django.contrib import admin

from billing.stripe.admin import ReadOnlyAdmin
from taxes import models


@admin.register(models.TaxSettings)
class TaxSettingsAdmin(ReadOnlyAdmin):
    list_display = ("mode", "home_country", "home_state", "updated_at", "updated_by")
    list_select_related = ("updated_by",)
    raw_id_fields = ("updated_by",)


@admin.register(models.Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ("country", "state", "tax_type", "scheme", "number", "effective_from", "effective_to", "stripe_id")
    list_filter = ("tax_type", "scheme")
    search_fields = ("country", "state", "number", "stripe_id")
    list_select_related = ("created_by",)
    raw_id_fields = ("created_by",)


@admin.register(models.PortalTaxRate)
class PortalTaxRateAdmin(ReadOnlyAdmin):
    list_display = ("jurisdiction", "display_name", "percentage", "inclusive", "active", "stripe_id", "created_at")
    list_filter = ("active", "tax_type", "inclusive")
    search_fields = ("jurisdiction", "stripe_id")
    list_select_related = ("created_by",)
    raw_id_fields = ("created_by",)


@admin.register(models.CustomerTaxStatus)
class CustomerTaxStatusAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "status", "customer_type", "tax_id_value", "certificate_expires", "updated_at")
    list_filter = ("status", "customer_type")
    search_fields = ("organisation__name", "tax_id_value", "certificate_ref")
    list_select_related = ("organisation", "updated_by")
    raw_id_fields = ("organisation", "updated_by")
