"""Admin over the dj-stripe mirror and the gateway's own tables: read-only, fast at a million rows.

dj-stripe's own admin classes query per row and crash on dahlia payloads, so every dj-stripe
model is registered again here: columns come from `stripe_data` (no joins), lists are ordered by
the primary key, counts are estimated on PostgreSQL, and nothing in the admin calls Stripe.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property
from django.utils.html import format_html
from djstripe import models as dj

from billing.money import format_money
from billing.stripe.models import IntakeRejection, ObjectVersion, StripeEvent, WebhookEndpoint


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL an unfiltered count of a big table is read from the planner's statistics."""

    @cached_property
    def count(self):
        query = self.object_list.query
        if connection.vendor == "postgresql" and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [query.model._meta.db_table]
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count


def _data_column(key: str, label: str, money: str | None = None):
    def column(obj):
        data = obj.stripe_data or {}
        value = data
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if money:
            return format_money(value, data.get(money))
        return "—" if value in (None, "") else value

    column.short_description = label
    return column


class ReadOnlyAdmin(admin.ModelAdmin):
    """Nothing added, changed or deleted from the admin: these rows are the record of what Stripe
    sent and what became of it, written only by the intake and the workers."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MirrorAdmin(ReadOnlyAdmin):
    data_columns: tuple = ()
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ("-djstripe_id",)
    search_fields = ("id",)
    readonly_fields = ("pretty_stripe_data",)
    exclude = ("stripe_data",)

    def get_list_display(self, request):
        return ("id", *[_data_column(*c) if isinstance(c, tuple) else c for c in self.data_columns], "created")

    def get_readonly_fields(self, request, obj=None):
        names = [f.name for f in self.model._meta.concrete_fields if f.name != "stripe_data"]
        return (*names, "pretty_stripe_data")

    def get_search_results(self, request, queryset, search_term):
        # Exact id lookups hit the unique index; a bare substring search would scan.
        term = search_term.strip()
        if not term:
            return queryset, False
        if "_" in term and " " not in term and "@" not in term:
            return queryset.filter(id=term), False
        return super().get_search_results(request, queryset, term)

    @admin.display(description="Stripe data")
    def pretty_stripe_data(self, obj):
        return format_html(
            "<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(obj.stripe_data, indent=2, sort_keys=True)
        )


MIRROR_COLUMNS: dict[type, tuple] = {
    dj.Customer: ("email", ("name", "Name"), ("address.country", "Country"), ("currency", "Currency")),
    dj.Subscription: (
        "customer_id",
        ("status", "Status"),
        ("currency", "Currency"),
        ("cancel_at_period_end", "Cancels"),
    ),
    dj.SubscriptionItem: ("subscription_id", "price_id", ("quantity", "Quantity")),
    dj.Invoice: (("number", "Number"), "customer_id", ("status", "Status"), ("amount_due", "Amount due", "currency")),
    dj.LineItem: (("description", "Description"), ("amount", "Amount", "currency")),
    dj.InvoiceItem: ("customer_id", ("amount", "Amount", "currency")),
    dj.Charge: ("customer_id", ("status", "Status"), ("amount", "Amount", "currency")),
    dj.PaymentIntent: ("customer_id", ("status", "Status"), ("amount", "Amount", "currency")),
    dj.PaymentMethod: ("customer_id", ("type", "Type")),
    dj.Price: (
        "product_id",
        "lookup_key",
        ("unit_amount", "Unit amount", "currency"),
        ("recurring.interval", "Interval"),
    ),
    dj.Product: ("name", "active"),
    dj.Refund: ("charge_id", ("status", "Status"), ("amount", "Amount", "currency")),
    dj.Dispute: (("status", "Status"), ("reason", "Reason"), ("amount", "Amount", "currency")),
    dj.SetupIntent: ("customer_id", ("status", "Status")),
    dj.TaxId: ("customer_id", ("type", "Type"), ("value", "Value")),
    dj.TaxRate: (("display_name", "Name"), ("percentage", "Percent"), ("country", "Country")),
    dj.Event: ("type",),
}
SEARCH_FIELDS = {dj.Customer: ("id", "email")}

for model in list(admin.site._registry):
    if model._meta.app_label == "djstripe":
        admin.site.unregister(model)

for model in {m for m in dj.__dict__.values() if isinstance(m, type) and hasattr(m, "_meta")}:
    if (
        admin.site.is_registered(model)
        or model._meta.abstract
        or model._meta.app_label != "djstripe"
        or not hasattr(model, "stripe_data")
    ):
        continue
    if not any(f.name == "djstripe_id" for f in model._meta.concrete_fields):
        continue
    attrs = {
        "data_columns": MIRROR_COLUMNS.get(model, ()),
        "search_fields": SEARCH_FIELDS.get(model, ("id",)),
        "__module__": __name__,
    }
    admin.site.register(model, type(f"{model.__name__}MirrorAdmin", (MirrorAdmin,), attrs))


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "object_id", "status", "attempts", "created", "received_at")
    list_filter = ("status",)
    search_fields = ("=id", "=object_id", "type")
    ordering = ("-created", "-id")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = [f.name for f in StripeEvent._meta.fields]


@admin.register(ObjectVersion)
class ObjectVersionAdmin(ReadOnlyAdmin):
    list_display = ("stripe_id", "object_type", "event_created", "rank", "event_id", "deleted")
    search_fields = ("=stripe_id",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("stripe_id", "url", "api_base", "api_version", "created_at")
    exclude = ("secret",)  # never shown


@admin.register(IntakeRejection)
class IntakeRejectionAdmin(ReadOnlyAdmin):
    list_display = ("day", "reason", "count")
    ordering = ("-day",)
