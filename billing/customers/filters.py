"""The customer list's filters."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q
from djstripe.models import Invoice, PaymentMethod, Subscription

from billing.currencies.countries import CHARGED_METHOD_CHOICES
from billing.ui.filters import YES_NO, choice, clean_search, country_choices, product_choices, search_field

STATUSES = [(s, s.replace("_", " ").capitalize()) for s in ("active", "trialing", "past_due", "canceled", "unpaid")]
METHOD_TYPES = CHARGED_METHOD_CHOICES


def _currencies():
    return [
        (c, c.upper()) for c in ("usd", "eur", "gbp", "jpy", "krw", "kwd", "aud", "brl", "inr", "cad", "chf", "sek")
    ]


class CustomerFilter(django_filters.FilterSet):
    q = search_field("Search", "Name, email or cus_… id")
    country = django_filters.ChoiceFilter(
        label="Country", choices=country_choices, method="filter_country", empty_label="Any"
    )
    plan = django_filters.ChoiceFilter(label="Plan", choices=product_choices, method="filter_plan", empty_label="Any")
    status = choice("Subscription", STATUSES, "filter_status")
    currency = choice("Currency", _currencies(), "filter_currency")
    method = choice("Pays by", METHOD_TYPES, "filter_method")
    past_due = choice("Past due", YES_NO, "filter_past_due")
    enterprise = choice("Segment", [("yes", "Enterprise"), ("no", "Self-serve")], "filter_enterprise")

    def filter_search(self, queryset, name, value):
        return queryset.search(clean_search(value))

    def filter_country(self, queryset, name, value):
        return queryset.in_country(value)

    def filter_plan(self, queryset, name, value):
        subs = Subscription.mirror.live().filter(customer=OuterRef("id"), items__price__product_id=value)
        return queryset.filter(Exists(subs))

    def filter_status(self, queryset, name, value):
        return queryset.filter(Exists(Subscription.objects.filter(customer=OuterRef("id"), stripe_data__status=value)))

    def filter_currency(self, queryset, name, value):
        subs = Subscription.objects.filter(customer=OuterRef("id"), stripe_data__currency=value)
        return queryset.filter(Q(stripe_data__currency=value) | Exists(subs))

    def filter_method(self, queryset, name, value):
        return queryset.filter(Exists(PaymentMethod.objects.filter(customer=OuterRef("id"), stripe_data__type=value)))

    def filter_past_due(self, queryset, name, value):
        late = Exists(Subscription.objects.filter(customer=OuterRef("id"), stripe_data__status="past_due")) | Exists(
            Invoice.mirror.past_due().filter(customer=OuterRef("id"))
        )
        return queryset.filter(late) if value == "yes" else queryset.exclude(late)

    def filter_enterprise(self, queryset, name, value):
        enterprise = Q(organisation__is_enterprise=True)
        return queryset.filter(enterprise) if value == "yes" else queryset.exclude(enterprise)
