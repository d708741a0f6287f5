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
from billing.stripe.errors import StripeGatewayError
from billing.stripe.models import DriftReport, EventStatus, StripeEvent


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


@require_POST
@finance_required(StaffRole.admin)
def drift_repair(request: HttpRequest, report_id: int) -> HttpResponse:
    """Repair one difference (type + id) or, with `all`, every one left, from Stripe."""
    report = get_object_or_404(DriftReport, pk=report_id)
    if request.POST.get("all"):
        count = services.drift_repair_all(report=report, actor=request.user)
        messages.success(
            request, f"Repairing {count} difference{'s' if count != 1 else ''} from Stripe in the background."
        )
        return redirect("stripe_events:drift")
    object_type, stripe_id = request.POST.get("type", ""), request.POST.get("id", "")
    if not any((d.get("type"), d.get("id")) == (object_type, stripe_id) for d in report.details):
        messages.error(request, "That object is not in this report.")
        return redirect("stripe_events:drift")
    try:
        done = services.drift_repair(report=report, object_type=object_type, stripe_id=stripe_id, actor=request.user)
    except StripeGatewayError as error:
        messages.error(request, f"Stripe refused: {error.message}")
    else:
        messages.success(request, f"{stripe_id}: {done}.")
    return redirect("stripe_events:drift")
