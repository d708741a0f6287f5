"""The events page: what arrived from Stripe, what became of it, and replay."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import finance_required
from accounts.models import StaffRole
from billing.stripe import selectors, services
from billing.stripe.models import EventStatus, StripeEvent


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


@finance_required()
def event_list(request: HttpRequest) -> HttpResponse:
    filters = {key: request.GET.get(key, "").strip()[:255] for key in ("type", "status", "object", "date")}
    day = _parse_date(filters["date"])
    events = selectors.event_search(
        type_prefix=filters["type"], status=filters["status"], object_id=filters["object"], day=day
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    context = {
        "page_obj": page,
        "filters": filters,
        "statuses": EventStatus.choices,
        "needing_attention": selectors.events_needing_attention_count(),
        "rejections": selectors.recent_rejections(),
        "querystring": urlencode({k: v for k, v in filters.items() if v}),
        "bad_date": bool(filters["date"]) and day is None,
    }
    return render(request, "stripe_events/list.html", context)


@finance_required()
def event_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    event = get_object_or_404(StripeEvent, pk=event_id)
    return render(
        request,
        "stripe_events/detail.html",
        {"event": event, "payload_json": json.dumps(event.payload, indent=2, sort_keys=True)},
    )


@require_POST
@finance_required(StaffRole.admin)
def event_replay(request: HttpRequest) -> HttpResponse:
    event_id = request.POST.get("event_id", "")
    if event_id:
        get_object_or_404(StripeEvent, pk=event_id)
        ids = [event_id]
    else:
        ids = selectors.failed_event_ids()
    count = services.event_replay(event_ids=ids, actor=request.user)
    messages.success(request, f"{count} event{'s' if count != 1 else ''} queued for replay.")
    return redirect(request.POST.get("next") or "stripe_events:list")


@finance_required()
def drift_report(request: HttpRequest) -> HttpResponse:
    """The last reconciliation of the mirror against Stripe."""
    return render(
        request,
        "stripe_events/drift.html",
        {"report": selectors.latest_drift_report(), "history": selectors.drift_history()},
    )
