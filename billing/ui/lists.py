"""Every finance list the same way: filters (django-filter), sort, capped pagination, CSV, htmx.

A list is a `ListSpec` plus a queryset; `list_response` renders the full page, or only the results
fragment for htmx (filters update the table in place and push the URL, so the URL keeps the
state), or streams the whole filtered list as CSV (audited; analysts and admins only). A filter
value that cannot run shows no rows and a message saying why, never everything and never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import can
from accounts.audit import audit
from billing.ui.csv import stream_csv
from billing.ui.filters import fast_selects
from billing.ui.paginators import CappedPaginator


@dataclass(frozen=True)
class Column:
    label: str
    sort: str | None = None  # a key of ListSpec.sorts
    num: bool = False


@dataclass
class ListSpec:
    name: str  # "invoices": the CSV file name and the audit action `invoices.export`
    filterset: type[django_filters.FilterSet]
    columns: list[Column]
    sorts: dict[str, tuple]  # key -> ascending order_by() arguments; "-key" sorts descending
    default_sort: str
    results_template: str
    csv_header: list[str]
    csv_row: Callable[[Any], list]
    csv_prepare: Callable[[QuerySet], QuerySet] = lambda qs: qs  # noqa: E731 — slimmer rows for export
    decorate: Callable[[list], list] | None = None  # page objects -> row objects the template reads
    page_size: int = 50
    keep_params: tuple[str, ...] = field(default_factory=tuple)  # GET parameters that are not filters


def _sort(request: HttpRequest, spec: ListSpec) -> tuple[str, tuple]:
    requested = request.GET.get("sort", "")
    key = requested.lstrip("-")
    if key not in spec.sorts:
        requested = spec.default_sort
        key = requested.lstrip("-")
    ascending = spec.sorts[key]
    if requested.startswith("-"):
        order = tuple(o.desc() if hasattr(o, "desc") else (o[1:] if o.startswith("-") else f"-{o}") for o in ascending)
    else:
        order = tuple(o.asc() if hasattr(o, "asc") else o for o in ascending)
    return requested, (*order, "-pk")


def filter_state(request: HttpRequest, spec: ListSpec) -> dict[str, str]:
    """The filter and sort parameters in use, to rebuild links (pages, sort headers, CSV)."""
    names = set(spec.filterset.base_filters) | {"sort", *spec.keep_params}
    return {k: v for k, v in request.GET.items() if k in names and v not in ("", None)}


def list_response(
    request: HttpRequest,
    spec: ListSpec,
    queryset: QuerySet,
    *,
    page_template: str,
    context: dict | None = None,
) -> HttpResponse:
    filterset = spec.filterset(request.GET or None, queryset=queryset, request=request)
    fast_selects(filterset.form)
    filter_errors: list[str] = []
    if filterset.is_bound and not filterset.is_valid():
        for name, errors in filterset.form.errors.items():
            label = filterset.form.fields[name].label if name in filterset.form.fields else ""
            filter_errors += [f"{label}: {error}" if label else str(error) for error in errors]
    # A filter that cannot run shows nothing (not everything) and says why.
    rows_qs = queryset.none() if filter_errors else (filterset.qs if filterset.is_bound else queryset)
    sort, order = _sort(request, spec)
    rows_qs = rows_qs.order_by(*order)
    state = filter_state(request, spec)

    if request.GET.get("format") == "csv":
        if not can(request.user, "export"):
            raise PermissionDenied("Exports are for analysts and finance admins")
        audit(request.user, f"{spec.name}.export", object_type=spec.name, object_id="csv", filters=state)
        rows: Iterable = (spec.csv_row(obj) for obj in spec.csv_prepare(rows_qs).iterator(chunk_size=2000))
        return stream_csv(spec.name, spec.csv_header, rows)

    paginator = CappedPaginator(rows_qs, spec.page_size)
    requested_page = request.GET.get("page", "1")
    page = paginator.get_page(requested_page)
    if requested_page not in ("", "1") and str(page.number) != requested_page:
        filter_errors.append(f"There is no page {requested_page[:20]}; showing page {page.number}.")
    objects = list(page.object_list)
    full_context = {
        "spec": spec,
        "filter": filterset,
        "form": filterset.form,
        "rows": spec.decorate(objects) if spec.decorate else objects,
        "page_obj": page,
        "paginator": paginator,
        "sort": sort,
        "state": state,
        "querystring": urlencode(state),
        "csv_query": urlencode({**state, "format": "csv"}),
        "filter_errors": filter_errors,
        "can_export": can(request.user, "export"),
        **(context or {}),
    }
    if filter_errors and not request.headers.get("HX-Request"):
        for error in filter_errors:
            messages.warning(request, error)
        full_context["filter_errors"] = []
    template = spec.results_template if request.headers.get("HX-Request") else page_template
    return render(request, template, full_context)
