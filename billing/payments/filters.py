"""The payment list's filters (charges as mirrored)."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from billing.currencies.countries import CHARGED_METHOD_CHOICES
from billing.ui.filters import (
    AmountRangeForm,
    amount_range_q,
    choice,
    clean_search,
    country_choices,
    decimal_or_none,
    search_field,
)

STATUSES = [("succeeded", "Succeeded"), ("failed", "Failed"), ("pending", "Pending (bank debits settling)")]
METHODS = CHARGED_METHOD_CHOICES
FAILURES = [
    (c, c.replace("_", " ").capitalize())
    for c in (
        "card_declined",
        "insufficient_funds",
        "expired_card",
        "incorrect_cvc",
        "processing_error",
        "lost_card",
        "stolen_card",
        "account_closed",
        "no_account",
        "debit_not_authorized",
        "generic_decline",
    )
]
CURRENCIES = [
    (c, c.upper()) for c in ("usd", "eur", "gbp", "jpy", "krw", "kwd", "aud", "brl", "inr", "cad", "chf", "sek")
]


class PaymentFilter(django_filters.FilterSet):
    q = search_field("Search", "ch_… / pi_… id, customer email or name")
    status = choice("Status", STATUSES, "filter_status")
    method = choice("Method", METHODS, "filter_method")
    failure = choice("Failure", FAILURES, "filter_failure")
    currency = choice("Currency", CURRENCIES, "filter_currency")
    country = django_filters.ChoiceFilter(
        label="Country", choices=country_choices, method="filter_country", empty_label="Any"
    )
    amount_min = django_filters.NumberFilter(label="Amount from", method="filter_amount", min_value=0)
    amount_max = django_filters.NumberFilter(label="Amount to", method="filter_amount", min_value=0)

    class Meta:
        form = AmountRangeForm
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        value = clean_search(value)
        if not value:
            return queryset
        if value.startswith("ch_"):
            return queryset.filter(id=value)
        if value.startswith("pi_"):
            return queryset.filter(payment_intent_id=value)
        return queryset.filter(Q(customer__email__icontains=value) | Q(customer__organisation__name__icontains=value))

    def filter_status(self, queryset, name, value):
        return queryset.with_status(value)

    def filter_method(self, queryset, name, value):
        return queryset.filter(stripe_data__payment_method_details__type=value)

    def filter_failure(self, queryset, name, value):
        return queryset.filter(Q(stripe_data__failure_code=value) | Q(stripe_data__outcome__reason=value))

    def filter_currency(self, queryset, name, value):
        return queryset.filter(stripe_data__currency=value)

    def filter_country(self, queryset, name, value):
        return queryset.filter(customer__stripe_data__address__country=value)

    def filter_amount(self, queryset, name, value):
        if name == "amount_max" and self.form.cleaned_data.get("amount_min") is not None:
            return queryset
        low = decimal_or_none(self.form.cleaned_data.get("amount_min"))
        high = decimal_or_none(self.form.cleaned_data.get("amount_max"))
        return queryset.filter(amount_range_q("", "amount", "currency", low, high))
