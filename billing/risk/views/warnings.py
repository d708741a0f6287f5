from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import can, finance_required
from billing.money import exponent, to_decimal, to_minor
from billing.risk import selectors
from billing.risk import warnings as warning_services
from billing.risk.cases import reporting_currency
from billing.risk.errors import RiskError
from billing.risk.filters import WarningFilter
from billing.risk.models import WarningCase, WarningOutcome
from billing.risk.views.common import back, request_id
from billing.stripe.errors import StripeGatewayError
from billing.ui.lists import Column, ListSpec, list_response


def _csv_row(case: WarningCase) -> list:
    organisation = case.organisation
    return [
        case.warning_id,
        case.charge_id or "",
        organisation.name if organisation else "",
        to_decimal(case.amount, case.currency) if case.currency else "",
        case.currency.upper(),
        to_decimal(case.amount_reporting, reporting_currency()) if case.amount_reporting is not None else "",
        case.fraud_type,
        case.outcome,
        case.refund_id,
        case.created_at.isoformat(),
        case.handled_at.isoformat() if case.handled_at else "",
    ]


WARNINGS = ListSpec(
    name="risk_warnings",
    filterset=WarningFilter,
    columns=[
        Column("Received", sort="created"),
        Column("Organisation"),
        Column("Amount", sort="amount", num=True),
        Column("Fraud type"),
        Column("Outcome"),
        Column(""),
    ],
    sorts={"created": ("created_at",), "amount": ("amount_reporting",)},
    default_sort="-created",
    results_template="risk/_warnings.html",
    csv_header=[
        "warning_id",
        "charge_id",
        "organisation",
        "amount",
        "currency",
        "amount_reporting",
        "fraud_type",
        "outcome",
        "refund_id",
        "created_at",
        "handled_at",
    ],
    csv_row=_csv_row,
)


@finance_required()
def warning_list(request: HttpRequest) -> HttpResponse:
    policy = warning_services.policy_current()
    currency = reporting_currency()
    context = {
        "tab": "warnings",
        "policy": policy,
        "policy_threshold": to_decimal(policy.refund_below, currency) if policy.refund_below else "",
        "currency": currency,
        "step": Decimal(1).scaleb(-exponent(currency)),
        "can_decide": can(request.user, "risk.decide"),
        "request_id": uuid.uuid4(),
        "refundable": {o.value for o in warning_services.REFUNDABLE_BY_HAND},
        "pending": WarningCase.objects.filter(
            outcome__in=[WarningOutcome.above_threshold, WarningOutcome.no_rate, WarningOutcome.policy_off]
        ).count(),
    }
    return list_response(request, WARNINGS, selectors.warnings(), page_template="risk/warnings.html", context=context)


@require_POST
@finance_required(action="risk.decide")
def policy_update(request: HttpRequest) -> HttpResponse:
    currency = reporting_currency()
    raw = (request.POST.get("refund_below") or "").strip().replace(",", "")
    try:
        amount = Decimal(raw or "0")
        if not amount.is_finite() or amount < 0 or amount >= Decimal(10) ** 12:
            raise InvalidOperation
        refund_below = to_minor(amount, currency)
    except (InvalidOperation, ValueError):
        messages.error(request, f"The threshold must be an amount in {currency.upper()}, e.g. 250.00.")
        return redirect("risk:warnings")
    try:
        warning_services.policy_set(
            actor=request.user,
            auto_refund=request.POST.get("auto_refund") == "on",
            refund_below=refund_below,
            block_card=request.POST.get("block_card") == "on",
        )
    except RiskError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Policy saved: it applies to warnings that arrive from now on.")
    return redirect("risk:warnings")


@require_POST
@finance_required(action="risk.decide")
def warning_refund(request: HttpRequest, warning_id: str) -> HttpResponse:
    case = get_object_or_404(WarningCase, pk=warning_id)
    try:
        case = warning_services.warning_refund(
            case=case, actor=request.user, reason=request.POST.get("reason", ""), request_id=request_id(request)
        )
    except RiskError as error:
        messages.error(request, str(error))
    except StripeGatewayError as error:
        messages.error(request, error.message)
    else:
        if case.outcome == WarningOutcome.failed:
            messages.error(request, f"Stripe refused the refund: {case.note}")
        else:
            messages.success(request, f"Refunded ({case.refund_id}).")
    return redirect(back(request, reverse("risk:warnings")))
