"""The audit log page: every action anyone took, searchable, exportable; nothing on it can change."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.http import HttpRequest, HttpResponse

from accounts.access import finance_required
from accounts.models import AuditLog
from billing.ui.filters import clean_search, search_field
from billing.ui.lists import Column, ListSpec, list_response


class AuditFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The date range ends before it starts.")
        return data


class AuditFilter(django_filters.FilterSet):
    actor = search_field("Who", "Username")
    action = search_field("Action", "e.g. invoice.void")
    object = search_field("Object", "in_…, cus_…, sub_… id")
    organisation = search_field("Organisation", "Name")
    since = django_filters.DateFilter(
        label="From", method="filter_since", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = django_filters.DateFilter(label="To", method="filter_until", widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        form = AuditFilterForm
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        value = clean_search(value)
        if not value:
            return queryset
        if name == "actor":
            return queryset.filter(actor_username__icontains=value)
        if name == "action":
            return queryset.filter(action__startswith=value)
        if name == "object":
            return queryset.filter(Q(object_id=value) | Q(data__stripe_customer_id=value))
        return queryset.filter(organisation__name__icontains=value)

    def filter_since(self, queryset, name, value):
        return queryset.filter(created_at__gte=dt.datetime.combine(value, dt.time.min, tzinfo=dt.UTC))

    def filter_until(self, queryset, name, value):
        return queryset.filter(created_at__lte=dt.datetime.combine(value, dt.time.max, tzinfo=dt.UTC))


AUDIT = ListSpec(
    name="audit",
    filterset=AuditFilter,
    columns=[Column("When", sort="when"), Column("Who"), Column("Action"), Column("Object"), Column("Details")],
    sorts={"when": ("created_at",)},
    default_sort="-when",
    results_template="reports/_audit_results.html",
    csv_header=["when", "who", "action", "object_type", "object_id", "organisation", "data"],
    csv_row=lambda e: [
        e.created_at.isoformat(),
        e.actor_username or "system",
        e.action,
        e.object_type,
        e.object_id,
        e.organisation.name if e.organisation_id and e.organisation else "",
        e.data,
    ],
)


@finance_required()
def audit_log(request: HttpRequest) -> HttpResponse:
    return list_response(
        request, AUDIT, AuditLog.objects.select_related("organisation"), page_template="reports/audit.html"
    )
