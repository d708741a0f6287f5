from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from djstripe.models import Dispute

from accounts.access import can, finance_required
from accounts.models import AuditLog
from billing.money import format_money, to_decimal
from billing.risk import analytics, evidence, selectors
from billing.risk import disputes as dispute_services
from billing.risk.cases import reporting_currency
from billing.risk.errors import RiskError
from billing.risk.filters import DisputeFilter
from billing.risk.models import DisputeCase, DisputeReminder, EvidenceFile, ReviewCase
from billing.risk.views.common import request_id, with_defaults
from billing.ui.charts import chart
from billing.ui.lists import Column, ListSpec, list_response


def _csv_row(case: DisputeCase) -> list:
    organisation = case.organisation
    return [
        case.dispute_id,
        case.charge_id or "",
        organisation.name if organisation else "",
        case.country,
        to_decimal(case.amount, case.currency) if case.currency else "",
        case.currency.upper(),
        to_decimal(case.amount_reporting, reporting_currency()) if case.amount_reporting is not None else "",
        case.reason,
        case.status,
        case.due_by.isoformat() if case.due_by else "",
        case.submission_count,
        case.created_at.isoformat(),
        case.closed_at.isoformat() if case.closed_at else "",
    ]


DISPUTES = ListSpec(
    name="risk_disputes",
    filterset=DisputeFilter,
    columns=[
        Column("Evidence due", sort="due"),
        Column("Organisation"),
        Column("Amount", sort="amount", num=True),
        Column("Reason"),
        Column("Status"),
        Column("Opened", sort="created"),
    ],
    sorts={"due": ("due_by",), "amount": ("amount_reporting",), "created": ("created_at",)},
    default_sort="due",
    results_template="risk/_disputes.html",
    csv_header=[
        "dispute_id",
        "charge_id",
        "organisation",
        "country",
        "amount",
        "currency",
        "amount_reporting",
        "reason",
        "status",
        "due_by",
        "submissions",
        "opened_at",
        "closed_at",
    ],
    csv_row=_csv_row,
)


@finance_required()
def dispute_list(request: HttpRequest) -> HttpResponse:
    with_defaults(request, status="open")
    return list_response(
        request, DISPUTES, selectors.disputes(), page_template="risk/disputes.html", context={"tab": "disputes"}
    )


@finance_required()
def dispute_detail(request: HttpRequest, dispute_id: str) -> HttpResponse:
    case = selectors.disputes().filter(pk=dispute_id).first()
    if case is None:
        raise Http404("No such dispute")
    staged = (Dispute.objects.filter(id=case.pk).values_list("stripe_data", flat=True).first() or {}).get(
        "evidence"
    ) or {}
    draft = evidence.prefill(case) if case.needs_response else {}
    fields = []
    for field in evidence.fields_for(case.reason):
        value = staged.get(field.name) or ""
        fields.append(
            {
                "field": field,
                "value": value or draft.get(field.name, ""),
                "prefilled": not value and field.name in draft,
            }
        )
    review = ReviewCase.objects.filter(charge_id=case.charge_id).first() if case.charge_id else None
    context = {
        "tab": "disputes",
        "case": case,
        "fields": fields,
        "files": list(EvidenceFile.objects.filter(dispute=case).select_related("uploaded_by")),
        "file_fields": [f for f in evidence.fields_for(case.reason) if f.kind == "file"],
        "context": selectors.product_context(
            customer_id=case.customer_id,
            organisation=case.organisation,
            card_fingerprint=review.card_fingerprint if review else "",
        ),
        "review": review,
        "reminders": list(DisputeReminder.objects.filter(dispute=case).order_by("-sent_at")),
        "history": [
            (entry, HISTORY_LABELS.get(entry.action, entry.action))
            for entry in AuditLog.objects.filter(object_type="billing_risk.disputecase", object_id=case.pk)[:20]
        ],
        "can_decide": can(request.user, "risk.decide"),
        "request_id": uuid.uuid4(),
        "max_mb": evidence.FILE_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "risk/dispute.html", context)


@require_POST
@finance_required(action="risk.decide")
def dispute_evidence(request: HttpRequest, dispute_id: str) -> HttpResponse:
    case = get_object_or_404(DisputeCase, pk=dispute_id)
    submit = request.POST.get("action") == "submit"
    shown = [f.name for f in evidence.fields_for(case.reason)]
    data = {name: request.POST.get(name, "") for name in shown if name in request.POST}
    try:
        case = dispute_services.dispute_evidence_save(
            case=case, evidence=data, submit=submit, actor=request.user, request_id=request_id(request)
        )
    except RiskError as error:
        messages.error(request, str(error))
    else:
        if submit:
            messages.success(
                request, f"Evidence submitted to the bank: the dispute is {case.status.replace('_', ' ')}."
            )
        else:
            messages.success(request, "Evidence saved on the dispute at Stripe (not submitted yet).")
    return redirect("risk:dispute", dispute_id=case.pk)


@require_POST
@finance_required(action="risk.decide")
def dispute_upload(request: HttpRequest, dispute_id: str) -> HttpResponse:
    case = get_object_or_404(DisputeCase, pk=dispute_id)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise RiskError("Choose a file to upload.")
        if upload.size > evidence.FILE_MAX_BYTES:
            raise RiskError(
                f"{upload.name} is {upload.size / 1024 / 1024:.1f} MB; Stripe accepts dispute evidence files up to "
                "5 MB. Nothing was sent."
            )
        stored = dispute_services.dispute_file_upload(
            case=case,
            field=request.POST.get("field", ""),
            filename=upload.name,
            content=upload.read(),
            actor=request.user,
            request_id=request_id(request),
        )
    except RiskError as error:
        messages.error(request, str(error))
    else:
        label = evidence.BY_NAME[stored.field].label
        messages.success(request, f"{stored.filename} sent to Stripe ({stored.file_id}) as “{label}”.")
    return redirect("risk:dispute", dispute_id=case.pk)


@require_POST
@finance_required(action="risk.decide")
def dispute_accept(request: HttpRequest, dispute_id: str) -> HttpResponse:
    case = get_object_or_404(DisputeCase, pk=dispute_id)
    try:
        dispute_services.dispute_accept(case=case, actor=request.user, reason=request.POST.get("reason", ""))
    except RiskError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Dispute accepted: it is closed as lost.")
    return redirect("risk:dispute", dispute_id=case.pk)


HISTORY_LABELS = {
    "risk.dispute.evidence": "Evidence saved at Stripe",
    "risk.dispute.submit": "Evidence submitted to the bank",
    "risk.dispute.file": "File uploaded",
    "risk.dispute.accept": "Accepted as lost",
}
PERIODS = {"90": 90, "365": 365, "730": 730}
WON_COLOR, LOST_COLOR = "#0e7a43", "#b42318"  # the portal's green and red


@finance_required()
def dispute_analytics(request: HttpRequest) -> HttpResponse:
    period = request.GET.get("days", "365")
    days = PERIODS.get(period, 365)
    board = analytics.dispute_outcomes(days=days)
    currency = board.currency

    def outcome_chart(chart_id: str, title: str, rows, header: str) -> dict:
        rows = rows[:12]
        drawn = chart(
            chart_id,
            title,
            [r.label for r in rows],
            [("Won", [r.won for r in rows]), ("Lost", [r.lost for r in rows])],
            stacked=True,
            label_header=header,
        )
        for dataset, color in zip(drawn["js"]["datasets"], (WON_COLOR, LOST_COLOR), strict=True):
            dataset["color"] = color
        return drawn

    losing = [r for r in board.by_country if r.amount_lost][:12]
    lost_chart = chart(
        "lost-by-country",
        f"Amount lost by country ({currency.upper()})",
        [r.label for r in losing],
        [("Amount lost", [r.amount_lost for r in losing])],
        currency=currency,
        label_header="Country",
    )
    lost_chart["js"]["datasets"][0]["color"] = LOST_COLOR
    context = {
        "tab": "analytics",
        "board": board,
        "days": str(days),
        "periods": [("90", "90 days"), ("365", "12 months"), ("730", "2 years")],
        "reason_chart": outcome_chart("by-reason", "Won and lost by reason", board.by_reason, "Reason"),
        "country_chart": lost_chart,
        "amount_lost": format_money(board.total.amount_lost, currency),
        "at_stake": format_money(board.at_stake, currency),
    }
    return render(request, "risk/analytics.html", context)
