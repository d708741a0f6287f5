"""The subscription list's filters."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q
from djstripe.models import SubscriptionItem

from billing.ui.filters import YES_NO, choice, clean_search, product_choices, search_field

STATUSES = [
    (s, s.replace("_", " ").capitalize())
    for s in ("active", "trialing", "past_due", "canceled", "unpaid", "incomplete")
]
INTERVALS = [("month", "Monthly"), ("year", "Annual")]
CURRENCIES = [
    (c, c.upper()) for c in ("usd", "eur", "gbp", "jpy", "krw", "kwd", "aud", "brl", "inr", "cad", "chf", "sek")
]


class SubscriptionFilter(django_filters.FilterSet):
    q = search_field("Search", "sub_… id, customer email or name")
    status = choice("Status", STATUSES, "filter_status")
    plan = django_filters.ChoiceFilter(label="Plan", choices=product_choices, method="filter_plan", empty_label="Any")
    interval = choice("Billed", INTERVALS, "filter_interval")
    currency = choice("Currency", CURRENCIES, "filter_currency")
    ending = choice("Cancels at period end", YES_NO, "filter_ending")

    def filter_search(self, queryset, name, value):
        value = clean_search(value)
        if not value:
            return queryset
        if value.startswith("sub_"):
            return queryset.filter(id=value)
        return queryset.filter(Q(customer__email__icontains=value) | Q(customer__organisation__name__icontains=value))

    def filter_status(self, queryset, name, value):
        return queryset.with_status(value)

    def filter_plan(self, queryset, name, value):
        return queryset.filter(
            Exists(SubscriptionItem.objects.filter(subscription=OuterRef("id"), price__product_id=value))
        )

    def filter_interval(self, queryset, name, value):
        items = SubscriptionItem.objects.filter(
            subscription=OuterRef("id"), price__stripe_data__recurring__interval=value
        )
        return queryset.filter(Exists(items))

    def filter_currency(self, queryset, name, value):
        return queryset.filter(stripe_data__currency=value)

    def filter_ending(self, queryset, name, value):
        return queryset.ending() if value == "yes" else queryset.exclude(stripe_data__cancel_at_period_end=True)
