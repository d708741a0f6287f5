"""The events page: what arrived from Stripe, what became of it, and replay."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.access import finance_required
from accounts.models import StaffRole
from billing.stripe import selectors, services
from billing.stripe.errors import StripeGatewayError
from billing.stripe.forms import EventFilterForm
from billing.stripe.models import DriftReport, EventStatus, StripeEvent


@finance_required()
def event_list(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET)
    form.is_valid()  # a bad filter is left out and named; the others still apply
    events = selectors.event_search(**form.filters())
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    shown = {name: value for name, value in form.cleaned_data.items() if value}
    context = {
        "page_obj": page,
        "filters": {name: form.data.get(name, "")[:255] for name in form.fields},
        "filter_problems": form.problems(),
        "statuses": EventStatus.choices,
        "needing_attention": selectors.events_needing_attention_count(),
        "rejections": selectors.recent_rejections(),
        "querystring": urlencode(shown),
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
    next_url = request.POST.get("next", "")
    if next_url and not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseBadRequest("next must be a path on this site; nothing was replayed.")
    event_id = request.POST.get("event_id", "")
    if event_id:
        get_object_or_404(StripeEvent, pk=event_id)
        ids = [event_id]
    else:
        ids = selectors.failed_event_ids()
    count = services.event_replay(event_ids=ids, actor=request.user)
    messages.success(request, f"{count} event{'s' if count != 1 else ''} queued for replay.")
    return redirect(next_url or "stripe_events:list")


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
