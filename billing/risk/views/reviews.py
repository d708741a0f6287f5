from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import can, finance_required
from billing.money import to_decimal
from billing.risk import reviews as review_services
from billing.risk import selectors
from billing.risk.cases import reporting_currency
from billing.risk.errors import RiskError
from billing.risk.filters import ReviewFilter
from billing.risk.models import DecisionKind, DecisionStatus, ReviewCase
from billing.risk.views.common import back, request_id, with_defaults
from billing.ui.lists import Column, ListSpec, list_response


def _csv_row(case: ReviewCase) -> list:
    organisation = case.organisation
    return [
        case.review_id,
        case.charge_id or "",
        case.customer_id or "",
        organisation.name if organisation else "",
        to_decimal(case.amount, case.currency) if case.currency else "",
        case.currency.upper(),
        case.risk_score if case.risk_score is not None else "",
        case.risk_level,
        case.rule,
        case.card_country,
        case.customer_country,
        case.ip_country,
        case.created_at.isoformat(),
        "open" if case.open else case.closed_reason,
    ]


REVIEWS = ListSpec(
    name="risk_reviews",
    filterset=ReviewFilter,
    columns=[
        Column("", None),
        Column("Opened", sort="created"),
        Column("Organisation"),
        Column("Amount", sort="amount", num=True),
        Column("Risk", sort="risk", num=True),
        Column("Why"),
        Column("Card · customer · IP"),
        Column("Status"),
    ],
    sorts={"created": ("created_at",), "risk": ("risk_score",), "amount": ("amount_reporting",)},
    default_sort="-created",
    results_template="risk/_reviews.html",
    csv_header=[
        "review_id",
        "charge_id",
        "customer_id",
        "organisation",
        "amount",
        "currency",
        "risk_score",
        "risk_level",
        "rule",
        "card_country",
        "customer_country",
        "ip_country",
        "opened_at",
        "status",
    ],
    csv_row=_csv_row,
)


@finance_required()
def review_list(request: HttpRequest) -> HttpResponse:
    with_defaults(request, status="open")
    context = {
        "tab": "reviews",
        "can_decide": can(request.user, "risk.decide"),
        "request_id": uuid.uuid4(),
        "kinds": DecisionKind.choices,
    }
    return list_response(request, REVIEWS, selectors.reviews(), page_template="risk/reviews.html", context=context)


@finance_required()
def review_detail(request: HttpRequest, review_id: str) -> HttpResponse:
    try:
        context = selectors.review_detail(review_id)
    except ReviewCase.DoesNotExist:
        raise Http404("No such review") from None
    context |= {
        "tab": "reviews",
        "can_decide": can(request.user, "risk.decide"),
        "request_id": uuid.uuid4(),
        "reporting": reporting_currency(),
    }
    return render(request, "risk/review.html", context)


@require_POST
@finance_required(action="risk.decide")
def review_decide(request: HttpRequest, review_id: str) -> HttpResponse:
    case = get_object_or_404(ReviewCase, pk=review_id)
    try:
        decision = review_services.review_decide(
            review=case,
            kind=request.POST.get("kind", ""),
            actor=request.user,
            reason=request.POST.get("reason", ""),
            request_id=request_id(request),
            block=request.POST.getlist("block"),
        )
    except RiskError as error:
        messages.error(request, str(error))
        return redirect("risk:review", review_id=case.pk)
    if decision.status == DecisionStatus.done:
        blocked = decision.result.get("blocked") or []
        note = f" Blocked: {', '.join(blocked)}." if blocked else ""
        messages.success(request, f"{decision.get_kind_display()}: done.{note}")
    elif decision.status == DecisionStatus.skipped:
        messages.warning(request, f"Nothing sent: the review was {decision.error}.")
    else:
        messages.error(request, f"Stripe refused it: {decision.error}")
    return redirect("risk:review", review_id=case.pk)


@require_POST
@finance_required(action="risk.decide")
def reviews_bulk(request: HttpRequest) -> HttpResponse:
    try:
        queued, closed = review_services.reviews_decide_bulk(
            review_ids=request.POST.getlist("review"),
            kind=request.POST.get("kind", ""),
            actor=request.user,
            reason=request.POST.get("reason", ""),
            request_id=request_id(request),
            block=request.POST.getlist("block"),
        )
    except RiskError as error:
        messages.error(request, str(error))
    else:
        note = f" {closed} were already closed and left alone." if closed else ""
        messages.success(
            request, f"{queued} decision{'s' if queued != 1 else ''} queued: each is sent to Stripe in turn.{note}"
        )
    return redirect(back(request, reverse("risk:reviews")))
