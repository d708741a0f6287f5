"""Who may do what in the SQL workspace, from accounts.access: analysts and admins write and run any
query (`sql.write`); support runs the shipped library only; customers never get in."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from accounts.access import can, staff_role

# Pages support may open, and then only for a library report.
SUPPORT_PAGES = {"explorer_index", "query_favorites"}
SUPPORT_REPORT_PAGES = {"query_detail", "download_query", "query_favorite"}


def is_library_query(query_id) -> bool:
    from billing.sql_reports.models import LibraryReport

    return LibraryReport.objects.filter(query_id=query_id).exists()


def allowed(request, kind: str) -> bool:
    """`kind`: view (open and run), change (write, save, the playground and schema) or connections."""
    user = request.user
    if staff_role(user) is None:
        return False
    if can(user, "sql.write"):
        return kind in ("view", "change")
    if kind != "view":
        return False
    match = request.resolver_match
    if match is None:
        return False
    if match.url_name in SUPPORT_PAGES:
        return True
    if match.url_name in SUPPORT_REPORT_PAGES and "query_id" in match.kwargs:
        return is_library_query(match.kwargs["query_id"])
    return False


def refused(request):
    """Explorer's answer when a check above says no: the login page, or a 403 for the logged in."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if staff_role(request.user) is None:
        raise PermissionDenied("SQL reports are for the finance team")
    raise PermissionDenied("Your finance role runs the report library only")
