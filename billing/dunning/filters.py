"""The dunning queue's filters."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django_countries import countries

from billing.dunning.models import METHOD_TYPES, CaseStatus, Policy, Segment
from billing.ui.filters import choice, clean_search, search_field

CURRENCIES = [(c, c.upper()) for c in ("usd", "eur", "gbp", "jpy", "krw", "kwd", "aud", "brl", "inr", "cad", "chf")]


class CaseFilter(django_filters.FilterSet):
    q = search_field("Search", "Organisation, invoice number or in_… id")
    status = choice("Status", CaseStatus.choices, "filter_status")
    policy = django_filters.ChoiceFilter(label="Policy", method="filter_policy", empty_label="Any")
    method = choice("Method", METHOD_TYPES, "filter_method")
    currency = choice("Currency", CURRENCIES, "filter_currency")
    country = django_filters.ChoiceFilter(
        label="Country", choices=list(countries), method="filter_country", empty_label="Any"
    )
    segment = choice("Segment", Segment.choices, "filter_segment")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["policy"].extra["choices"] = [
            (str(pk), name) for pk, name in Policy.objects.values_list("pk", "name")
        ]

    def filter_search(self, queryset, name, value):
        value = clean_search(value)
        if not value:
            return queryset
        return queryset.filter(
            Q(organisation__name__icontains=value) | Q(invoice_number__icontains=value) | Q(invoice_id=value)
        )

    def filter_status(self, queryset, name, value):
        return queryset.filter(status=value)

    def filter_policy(self, queryset, name, value):
        return queryset.filter(policy_id=value)

    def filter_method(self, queryset, name, value):
        return queryset.filter(method_type=value)

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value)

    def filter_country(self, queryset, name, value):
        return queryset.filter(country=value)

    def filter_segment(self, queryset, name, value):
        return queryset.filter(segment=value)
