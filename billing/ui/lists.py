"""Every finance list the same way: filters (django-filter), sort, capped pagination, CSV, htmx.

A list is a `ListSpec` plus a queryset; `list_response` renders the full page, or only the results
fragment for htmx (filters update the table in place and push the URL, so the URL keeps the
state), or streams the whole filtered list as CSV (audited; analysts and admins only). A filter
value that cannot run shows no rows and a message saying why, never everything and never a 500.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import django_filters
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from accounts.access import can, staff_role
from accounts.audit import audit
from billing.stripe.context_processors import event_backlog
from billing.ui import listcache
from billing.ui.csv import stream_csv
from billing.ui.filters import fast_selects
from billing.ui.paginators import CappedPaginator

# Where a cached page's per-load request id (a bulk form's idempotency key) goes.
REQUEST_ID_HOLE = "00000000-request-id-hole-000000000000"


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
    # Model labels the rows, their decoration and the filters read: the results are cached until one
    # of them is written (billing.ui.listcache). Empty: never cached (a fragment holding a CSRF token).
    depends_on: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        listcache.watch(self.depends_on)


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
    response = _list_response(request, spec, queryset, page_template=page_template, context=context)
    patch_vary_headers(response, ["HX-Request"])  # the same URL is a fragment for htmx, a page otherwise
    return response


def _list_response(
    request: HttpRequest, spec: ListSpec, queryset: QuerySet, *, page_template: str, context: dict | None
) -> HttpResponse:
    page_key = _page_key(request, spec)
    cached_page = listcache.get(page_key)
    if isinstance(cached_page, str):
        return HttpResponse(cached_page.replace(REQUEST_ID_HOLE, str(uuid.uuid4())))
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

    htmx = _wants_fragment(request)
    base_context = {
        "spec": spec,
        "filter": filterset,
        "form": filterset.form,
        "sort": sort,
        "state": state,
        "querystring": urlencode(state),
        "csv_query": urlencode({**state, "format": "csv"}),
        "can_export": can(request.user, "export"),
        "list_path": request.path,  # the filter form's target: its own fields, not the URL's old query as well
        **(context or {}),
    }
    page_param = request.GET.get("page", "1")
    key = None
    if spec.depends_on and not filter_errors:
        parts = [*state.items(), ("page", page_param)]  # the role (in the key) says what the viewer may do
        key = listcache.fragment_key(spec.name, spec.depends_on, staff_role(request.user), parts)
    cached = listcache.get(key)
    if isinstance(cached, tuple) and len(cached) == 3:
        results_html, filters_html, notes = cached
    else:
        results_context, notes = _results_context(spec, rows_qs, page_param)
        fragment_context = {**base_context, **results_context, "filter_errors": []}
        # Neither fragment is given the request when it is to be shared: nothing of it can leak in.
        results_html = render_to_string(spec.results_template, fragment_context, request=None if key else request)
        filters_html = None  # htmx swaps the results only: the filter form is written when a page needs it
    if filters_html is None and not htmx:
        filters_html = render_to_string("ui/filters.html", base_context)
    if cached != (results_html, filters_html, notes):
        listcache.put(key, (results_html, filters_html, notes))
    notes = filter_errors + notes
    if htmx:  # the fragment alone, its notes under it
        return HttpResponse(results_html + render_to_string("ui/list_notes.html", {"notes": notes}))
    for note in notes:
        messages.warning(request, note)
    context = {**base_context, "results_html": results_html, "filters_html": filters_html}
    response = render(request, page_template, context)
    if page_key and not notes:
        html = response.content.decode()
        if context.get("request_id"):  # a new one each time the page is served (a bulk form's idempotency)
            html = html.replace(str(context["request_id"]), REQUEST_ID_HOLE)
        listcache.put(page_key, html)
    return response


def _wants_fragment(request: HttpRequest) -> bool:
    """htmx asks for the results only, except when it restores a page from history (it needs all of it)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def _page_key(request: HttpRequest, spec: ListSpec) -> str | None:
    """The whole page, for one viewer in one browser (its CSRF secret is in the page), when it
    shows nothing of the moment: no messages waiting, no "catching up" banner; None otherwise."""
    csrf_cookie = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
    if (
        not spec.depends_on
        or not listcache.enabled()
        or not csrf_cookie
        or _wants_fragment(request)
        or request.GET.get("format")
        or len(messages.get_messages(request))
        or event_backlog(request).get("event_backlog")
    ):
        return None
    viewer = hashlib.blake2b(f"{request.user.pk}:{csrf_cookie}".encode(), digest_size=12).hexdigest()
    parts = [*filter_state(request, spec).items(), ("page", request.GET.get("page", "1")), ("viewer", viewer)]
    return listcache.fragment_key(f"{spec.name}:page", spec.depends_on, staff_role(request.user), parts)


def _results_context(spec: ListSpec, rows_qs: QuerySet, requested_page: str):
    """One page of rows and its pagination; notes about a page that does not exist."""
    paginator = CappedPaginator(rows_qs, spec.page_size)
    page = paginator.get_page(requested_page)
    notes = []
    if requested_page not in ("", "1") and str(page.number) != requested_page:
        notes.append(f"There is no page {requested_page[:20]}; showing page {page.number}.")
    objects = list(page.object_list)
    return {
        "rows": spec.decorate(objects) if spec.decorate else objects,
        "page_obj": page,
        "paginator": paginator,
    }, notes
