"""What every risk view shares: the form's request id (idempotency), defaults in the query string,
and redirects that stay on this site."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, QueryDict
from django.utils.http import url_has_allowed_host_and_scheme

from billing.risk.errors import RiskError


def request_id(request: HttpRequest) -> uuid.UUID:
    """The id the form was rendered with: a double submit repeats it, so nothing is sent twice."""
    try:
        return uuid.UUID(request.POST.get("request_id", ""))
    except ValueError:
        raise RiskError("This form is out of date: reload the page and try again.") from None


def with_defaults(request: HttpRequest, **defaults: str) -> None:
    """Lists open on their useful default (open reviews, open disputes) unless the URL says otherwise."""
    if any(key not in ("sort", "page", "format") for key in request.GET):
        return  # the URL chose its filters (a search finds closed ones too)
    query: QueryDict = request.GET.copy()
    for key, value in defaults.items():
        query.setdefault(key, value)
    request.GET = query


def back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return fallback
