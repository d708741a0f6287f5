"""The events page: what arrived from Stripe, what became of it, and replay."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import finance_required
from accounts.models import StaffRole
from accounts.services import audit
from billing.stripe import services
from billing.stripe.models import DriftReport, EventStatus, IntakeRejection, StripeEvent


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


@finance_required()
def event_list(request: HttpRequest) -> HttpResponse:
    filters = {key: request.GET.get(key, "").strip()[:255] for key in ("type", "status", "object", "date")}
    events = StripeEvent.objects.defer("payload")
    if filters["type"]:
        events = events.filter(type__startswith=filters["type"])
    if filters["status"] in EventStatus.values:
        events = events.filter(status=filters["status"])
    if filters["object"]:
        events = events.filter(object_id=filters["object"])
    day = _parse_date(filters["date"])
    if day:
        start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        events = events.filter(created__gte=start, created__lt=start + dt.timedelta(days=1))
    page = Paginator(events.order_by("-created", "-id"), 50).get_page(request.GET.get("page"))
    context = {
        "page_obj": page,
        "filters": filters,
        "statuses": EventStatus.choices,
        "needing_attention": StripeEvent.objects.needing_attention().count(),
        "rejections": IntakeRejection.objects.order_by("-day", "reason")[:10],
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
    with transaction.atomic():
        if event_id:
            get_object_or_404(StripeEvent, pk=event_id)
            count = services.event_replay(event_ids=[event_id])
        else:
            ids = list(StripeEvent.objects.needing_attention().values_list("pk", flat=True)[:10_000])
            count = services.event_replay(event_ids=ids)
        audit(
            request.user,
            "stripe_event.replay",
            object_type="billing_stripe.stripeevent",
            object_id=event_id or "all-failed",
            count=count,
        )
    messages.success(request, f"{count} event{'s' if count != 1 else ''} queued for replay.")
    return redirect(request.POST.get("next") or "stripe_events:list")


@finance_required()
def drift_report(request: HttpRequest) -> HttpResponse:
    """The last reconciliation of the mirror against Stripe."""
    report = DriftReport.objects.first()
    return render(request, "stripe_events/drift.html", {"report": report, "history": DriftReport.objects.all()[:10]})
