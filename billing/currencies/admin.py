"""Read-only views for engineers on call: launches change through their pages (four eyes, audited),
the country table through launches, FX rates through the FX page."""

from django.contrib import admin

from billing.currencies.models import CountryCurrency, FxRate, Launch, LaunchRow


class ReadOnly(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Launch)
class LaunchAdmin(ReadOnly):
    list_display = ("id", "currency", "countries", "status", "created_by", "approved_by", "went_live_at")
    list_filter = ("status", "currency")
    list_select_related = ("created_by", "approved_by")


@admin.register(LaunchRow)
class LaunchRowAdmin(ReadOnly):
    list_display = ("launch", "lookup_key", "rounded", "override_amount", "state", "stripe_price_id", "attempts")
    list_filter = ("state",)
    list_select_related = ("launch",)
    search_fields = ("=launch__id", "lookup_key", "=stripe_price_id", "=source_price_id")


@admin.register(CountryCurrency)
class CountryCurrencyAdmin(ReadOnly):
    list_display = ("country", "currency", "payment_methods", "updated_at")


@admin.register(FxRate)
class FxRateAdmin(ReadOnly):
    list_display = ("day", "currency", "quote", "rate", "source")
    list_filter = ("currency",)
