"""The invoice list's filters."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q

from billing.ui.filters import (
    YES_NO,
    AmountRangeForm,
    amount_range_q,
    choice,
    clean_search,
    country_choices,
    decimal_or_none,
    search_field,
)

STATUSES = [
    ("draft", "Draft"),
    ("open", "Open"),
    ("paid", "Paid"),
    ("uncollectible", "Uncollectible"),
    ("void", "Void"),
]
CURRENCIES = [
    (c, c.upper()) for c in ("usd", "eur", "gbp", "jpy", "krw", "kwd", "aud", "brl", "inr", "cad", "chf", "sek")
]
METHODS = [("charge_automatically", "Charged automatically"), ("send_invoice", "Sent (payment terms)")]


def _ts(day: dt.date, end: bool = False) -> int:
    moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=dt.UTC)
    return int(moment.timestamp())


class InvoiceFilterForm(AmountRangeForm):
    def clean(self):
        data = super().clean()
        start, end = data.get("due_from"), data.get("due_to")
        if start and end and start > end:
            raise forms.ValidationError("The due date range ends before it starts.")
        return data


class InvoiceFilter(django_filters.FilterSet):
    q = search_field("Search", "Number, in_… id, customer email or name")
    status = choice("Status", STATUSES, "filter_status")
    past_due = choice("Past due", YES_NO, "filter_past_due")
    currency = choice("Currency", CURRENCIES, "filter_currency")
    collection = choice("Collection", METHODS, "filter_collection")
    due_from = django_filters.DateFilter(
        label="Due from", method="filter_due_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    due_to = django_filters.DateFilter(
        label="Due to", method="filter_due_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    amount_min = django_filters.NumberFilter(label="Amount from", method="filter_amount", min_value=0)
    amount_max = django_filters.NumberFilter(label="Amount to", method="filter_amount", min_value=0)
    country = django_filters.ChoiceFilter(
        label="Country", choices=country_choices, method="filter_country", empty_label="Any"
    )
    segment = choice("Segment", [("enterprise", "Enterprise"), ("self_serve", "Self-serve")], "filter_segment")

    class Meta:
        form = InvoiceFilterForm
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        value = clean_search(value)
        if not value:
            return queryset
        if value.startswith("in_"):
            return queryset.filter(id=value)
        return queryset.filter(
            Q(stripe_data__number=value.upper())
            | Q(customer__email__icontains=value)
            | Q(customer__organisation__name__icontains=value)
        )

    def filter_status(self, queryset, name, value):
        return queryset.with_status(value)

    def filter_past_due(self, queryset, name, value):
        late = queryset.model.mirror.past_due().values("pk")
        return queryset.filter(pk__in=late) if value == "yes" else queryset.exclude(pk__in=late)

    def filter_currency(self, queryset, name, value):
        return queryset.in_currency(value)

    def filter_collection(self, queryset, name, value):
        return queryset.filter(stripe_data__collection_method=value)

    def filter_due_from(self, queryset, name, value):
        return queryset.filter(stripe_data__due_date__gte=_ts(value))

    def filter_due_to(self, queryset, name, value):
        return queryset.filter(stripe_data__due_date__lte=_ts(value, end=True))

    def filter_amount(self, queryset, name, value):
        if name == "amount_max" and self.form.cleaned_data.get("amount_min") is not None:
            return queryset  # both ends are applied once, with the minimum
        low = decimal_or_none(self.form.cleaned_data.get("amount_min"))
        high = decimal_or_none(self.form.cleaned_data.get("amount_max"))
        return queryset.filter(amount_range_q("", "amount_due", "currency", low, high))

    def filter_country(self, queryset, name, value):
        return queryset.filter(customer__stripe_data__address__country=value)

    def filter_segment(self, queryset, name, value):
        enterprise = Q(customer__organisation__is_enterprise=True)
        return queryset.filter(enterprise) if value == "enterprise" else queryset.exclude(enterprise)
