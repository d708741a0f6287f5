"""django-sql-explorer's pages, mounted behind the finance login (accounts.access) and the run guard.

Only the pages we keep are mounted: no database connections, uploads, AI assistant, or email form.
Exports are ours (a refused query is a 400 with its reason, CSV streams), the rest is explorer's.
"""

from __future__ import annotations

from functools import wraps

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.text import get_valid_filename
from django.views import View
from explorer import urls as explorer_urls
from explorer.ee.db_connections.utils import default_db_connection_id
from explorer.exporters import get_exporter_class
from explorer.models import Query
from explorer.utils import url_get_params
from explorer.views import ListQueryView
from explorer.views.auth import PermissionRequiredMixin

from accounts.access import can, finance_required
from billing.sql_reports.guard import RefusedQuery, acting_as
from billing.sql_reports.library import ensure_connection
from billing.ui.csv import csv_lines

KEPT = {
    "query_detail",
    "query_delete",
    "query_create",
    "explorer_playground",
    "explorer_schema",
    "explorer_schema_json",
    "explorer_logs",
    "format_sql",
    "query_favorites",
    "query_favorite",
}


def finance_workspace(view):
    """Finance staff only (customers get a 403, strangers the login), and every run audited as them."""

    @finance_required()
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        ensure_connection()
        with acting_as(request.user):
            return view(request, *args, **kwargs)

    return wrapper


def export(request, query: Query, *, download: bool = True):
    """CSV (streamed) or XLSX of one run; a refused or failing query answers 400 with the reason."""
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "excel"):
        return HttpResponse("Unknown export format: use csv or excel.", status=400, content_type="text/plain")
    query.params = url_get_params(request)
    try:
        if fmt == "csv":
            result = query.execute_query_only()
            lines = csv_lines(result.headers, result.data)
            response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
            extension = ".csv"
        else:
            exporter = get_exporter_class(fmt)(query)
            response = HttpResponse(
                exporter.get_output(),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            extension = ".xlsx"
    except RefusedQuery as refusal:
        return HttpResponse(f"Not exported: {refusal}", status=400, content_type="text/plain; charset=utf-8")
    if download:
        name = get_valid_filename(query.title or "report") or "report"
        response["Content-Disposition"] = f'attachment; filename="{name}{extension}"'
    return response


class DownloadQueryView(PermissionRequiredMixin, View):
    permission_required = "view_permission"

    def get(self, request, query_id):
        return export(request, get_object_or_404(Query, pk=query_id))


class DownloadFromSqlView(PermissionRequiredMixin, View):
    permission_required = "change_permission"  # the playground's unsaved SQL: writers only

    def post(self, request):
        sql = request.POST.get("sql", "")
        connection = request.POST.get("database_connection") or default_db_connection_id()
        query = Query(sql=sql, database_connection_id=connection, title="Playground")
        return export(request, query)


class LibraryAwareListView(ListQueryView):
    """Support sees the library only; writers see every saved query."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if not can(self.request.user, "sql.write"):
            queryset = queryset.filter(library_entry__isnull=False)
        return queryset


def workspace_urls():
    patterns = [
        path("", finance_workspace(LibraryAwareListView.as_view()), name="explorer_index"),
        path("<int:query_id>/download", finance_workspace(DownloadQueryView.as_view()), name="download_query"),
        path("download", finance_workspace(DownloadFromSqlView.as_view()), name="download_sql"),
    ]
    for pattern in explorer_urls.urlpatterns:
        if pattern.name in KEPT:
            patterns.append(path(str(pattern.pattern), finance_workspace(pattern.callback), name=pattern.name))
    return patterns
