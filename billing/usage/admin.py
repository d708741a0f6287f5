"""Usage rows for engineers on call: read-only (writes go through the pages and services, audited)."""

from django.contrib import admin

from billing.stripe.admin import ReadOnlyAdmin
from billing.usage.models import ApiKey, Meter, MeterReport, SeatCredit, UsageCorrection, UsagePeriod


@admin.register(Meter)
class MeterAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "aggregation", "stripe_meter_id", "active")


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "name", "organisation", "created_at", "last_used_at", "revoked_at")
    exclude = ("digest",)
    list_select_related = ("organisation",)


@admin.register(UsagePeriod)
class UsagePeriodAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "meter", "start", "end", "reported_value", "stripe_value", "closed_at")
    list_select_related = ("organisation", "meter")
    list_filter = ("meter",)


@admin.register(MeterReport)
class MeterReportAdmin(ReadOnlyAdmin):
    list_display = ("identifier", "value", "timestamp", "status", "sent_at")
    list_filter = ("status",)


@admin.register(SeatCredit)
class SeatCreditAdmin(ReadOnlyAdmin):
    list_display = ("member_email", "kind", "amount", "currency", "status", "inactive_from")


@admin.register(UsageCorrection)
class UsageCorrectionAdmin(ReadOnlyAdmin):
    list_display = ("period", "quantity", "route", "status", "created_at")
