"""Filters of the risk lists (django-filter, through billing.ui.lists)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils import timezone
from django_countries import countries

from billing.money import to_minor
from billing.risk.cases import reporting_currency
from billing.risk.models import (
    CLOSED_STATUSES,
    NEEDS_RESPONSE,
    UNDER_REVIEW,
    BlockKind,
    SyncStatus,
    WarningOutcome,
)
from billing.ui.filters import AmountRangeForm, choice, clean_search, search_field

OPEN_CLOSED = [("open", "Open"), ("closed", "Closed"), ("all", "All")]
RISK_LEVELS = [("normal", "Normal"), ("elevated", "Elevated"), ("highest", "Highest")]
FRAUD_TYPES = [
    (t, t.replace("_", " ").capitalize())
    for t in (
        "card_never_received",
        "fraudulent_card_application",
        "made_with_counterfeit_card",
        "made_with_lost_card",
        "made_with_stolen_card",
        "misc",
        "unauthorized_use_of_card",
    )
]
DISPUTE_STATES = [
    ("open", "Open (needs response or under review)"),
    ("needs_response", "Needs response"),
    ("under_review", "Under review"),
    ("won", "Won"),
    ("lost", "Lost"),
    ("all", "All"),
]
DISPUTE_REASONS = [
    (r, r.replace("_", " ").capitalize())
    for r in (
        "fraudulent",
        "subscription_canceled",
        "product_not_received",
        "product_unacceptable",
        "duplicate",
        "credit_not_processed",
        "unrecognized",
        "general",
    )
]


def _money_field(label: str) -> django_filters.NumberFilter:
    return django_filters.NumberFilter(
        label=f"{label} ({reporting_currency().upper()})",
        method="filter_amount",
        min_value=0,
        widget=forms.NumberInput(attrs={"step": "any", "min": "0"}),
    )


class CaseFilter(django_filters.FilterSet):
    """Search by organisation, email or Stripe ids; amounts in the reporting currency."""

    search_fields: tuple[str, ...] = ()

    def filter_search(self, queryset, name, value):
        value = clean_search(value)
        if not value:
            return queryset
        condition = Q(customer__organisation__name__icontains=value) | Q(customer_id=value) | Q(charge_id=value)
        for field in self.search_fields:
            condition |= Q(**{field: value})
        return queryset.filter(condition)

    def filter_amount(self, queryset, name, value):
        currency = reporting_currency()
        minor = to_minor(value, currency)
        return queryset.filter(**{"amount_reporting__gte" if name == "amount_min" else "amount_reporting__lte": minor})


class ReviewFilter(CaseFilter):
    search_fields = ("pk", "email__iexact", "email_domain__iexact")
    q = search_field("Search", "Organisation, email, prv_/ch_/cus_ id")
    status = django_filters.ChoiceFilter(label="Status", choices=OPEN_CLOSED, method="filter_status", empty_label=None)
    risk = choice("Risk level", RISK_LEVELS, "filter_risk")
    mismatch = choice("Countries", [("yes", "Differ"), ("no", "Agree")], "filter_mismatch")
    amount_min = _money_field("From")
    amount_max = _money_field("To")

    class Meta:
        form = AmountRangeForm

    def filter_status(self, queryset, name, value):
        return {"open": queryset.filter(open=True), "closed": queryset.filter(open=False)}.get(value, queryset)

    def filter_risk(self, queryset, name, value):
        return queryset.filter(risk_level=value)

    def filter_mismatch(self, queryset, name, value):
        differ = Q()
        for a, b in (
            ("card_country", "customer_country"),
            ("ip_country", "customer_country"),
            ("ip_country", "card_country"),
        ):
            differ |= Q(**{f"{a}__gt": "", f"{b}__gt": ""}) & ~Q(**{a: F(b)})
        return queryset.filter(differ) if value == "yes" else queryset.exclude(differ)


class WarningFilter(CaseFilter):
    search_fields = ("pk",)
    q = search_field("Search", "Organisation, issfr_/ch_/cus_ id")
    outcome = choice("Outcome", WarningOutcome.choices, "filter_outcome")
    fraud_type = choice("Fraud type", FRAUD_TYPES, "filter_fraud_type")
    amount_min = _money_field("From")
    amount_max = _money_field("To")

    class Meta:
        form = AmountRangeForm

    def filter_outcome(self, queryset, name, value):
        return queryset.filter(outcome=value)

    def filter_fraud_type(self, queryset, name, value):
        return queryset.filter(fraud_type=value)


class DisputeFilter(CaseFilter):
    search_fields = ("pk",)
    q = search_field("Search", "Organisation, dp_/ch_/cus_ id")
    status = django_filters.ChoiceFilter(
        label="Status", choices=DISPUTE_STATES, method="filter_status", empty_label=None
    )
    reason = choice("Reason", DISPUTE_REASONS, "filter_reason")
    due = choice("Due within", [("3", "3 days"), ("7", "7 days"), ("14", "14 days")], "filter_due")
    country = django_filters.ChoiceFilter(
        label="Country", choices=list(countries), method="filter_country", empty_label="Any"
    )
    amount_min = _money_field("From")
    amount_max = _money_field("To")

    class Meta:
        form = AmountRangeForm

    def filter_status(self, queryset, name, value):
        groups = {
            "open": NEEDS_RESPONSE + UNDER_REVIEW,
            "needs_response": NEEDS_RESPONSE,
            "under_review": UNDER_REVIEW,
            "won": ("won",),
            "lost": ("lost",),
            "closed": CLOSED_STATUSES,
        }
        return queryset.filter(status__in=groups[value]) if value in groups else queryset

    def filter_reason(self, queryset, name, value):
        return queryset.filter(reason=value)

    def filter_due(self, queryset, name, value):
        now = timezone.now()
        return queryset.filter(
            status__in=NEEDS_RESPONSE, due_by__gt=now, due_by__lte=now + dt.timedelta(days=int(value))
        )

    def filter_country(self, queryset, name, value):
        return queryset.filter(country=value)


class BlockFilter(django_filters.FilterSet):
    q = search_field("Search", "Value or reason")
    kind = choice("Kind", BlockKind.choices, "filter_kind")
    state = django_filters.ChoiceFilter(
        label="Entries",
        choices=[("active", "Active"), ("removed", "Removed"), ("all", "All")],
        method="filter_state",
        empty_label=None,
    )
    sync = choice("Radar", SyncStatus.choices, "filter_sync")

    def filter_search(self, queryset, name, value):
        value = clean_search(value)
        return queryset.filter(Q(value__icontains=value) | Q(reason__icontains=value)) if value else queryset

    def filter_kind(self, queryset, name, value):
        return queryset.filter(kind=value)

    def filter_state(self, queryset, name, value):
        return {
            "active": queryset.filter(removed_at__isnull=True),
            "removed": queryset.filter(removed_at__isnull=False),
        }.get(value, queryset)

    def filter_sync(self, queryset, name, value):
        return queryset.filter(sync_status=value)
