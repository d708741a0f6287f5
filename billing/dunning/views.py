"""Finance's dunning pages: the queue, a case's timeline and actions, policies, emails, analytics."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from djstripe.models import Product

from accounts.access import can, finance_required
from accounts.audit import audit
from accounts.models import Organisation
from billing.dunning import actions, selectors
from billing.dunning.filters import CaseFilter
from billing.dunning.forms import MAX_STEPS, EmailTemplateForm, PauseForm, PolicyForm, initial_for, steps_from
from billing.dunning.models import Case, EmailTemplate, Policy
from billing.dunning.policies import PolicyError, default_policy, policy_save
from billing.money import format_money, to_decimal
from billing.ui.charts import chart
from billing.ui.lists import Column, ListSpec, list_response


def _csv_row(case: Case) -> list:
    return [
        case.invoice_id,
        case.invoice_number,
        case.organisation.name if case.organisation else "",
        case.customer_id,
        case.policy.name,
        case.status,
        case.currency.upper(),
        to_decimal(case.amount_due, case.currency),
        case.method_type,
        case.country,
        case.attempts_made,
        case.opened_at.isoformat(),
        case.next_attempt_at.isoformat() if case.next_attempt_at else "",
        case.last_decline_code,
        case.resolution,
        to_decimal(case.recovered_amount, case.currency) if case.recovered_amount else "",
    ]


QUEUE = ListSpec(
    name="dunning",
    filterset=CaseFilter,
    columns=[
        Column("Organisation"),
        Column("Invoice"),
        Column("Amount due", sort="amount", num=True),
        Column("Status"),
        Column("Policy"),
        Column("Attempts", num=True),
        Column("Next attempt", sort="next"),
        Column("Last decline"),
        Column("Failed", sort="opened"),
    ],
    sorts={"opened": ("opened_at",), "next": ("next_attempt_at",), "amount": ("amount_due",)},
    default_sort="-opened",
    results_template="dunning/_results.html",
    csv_header=[
        "invoice_id",
        "number",
        "organisation",
        "customer_id",
        "policy",
        "status",
        "currency",
        "amount_due",
        "method_type",
        "country",
        "attempts",
        "first_failure",
        "next_attempt",
        "last_decline",
        "resolution",
        "recovered",
    ],
    csv_row=_csv_row,
)


@finance_required()
def queue(request: HttpRequest) -> HttpResponse:
    context = {"counts": selectors.queue_counts(), "at_risk": selectors.at_risk()}
    return list_response(request, QUEUE, selectors.queue(), page_template="dunning/queue.html", context=context)


@finance_required()
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        context = selectors.case_detail(case_id)
    except Case.DoesNotExist:
        raise Http404("No such dunning case") from None
    context["pause_form"] = PauseForm()
    context["request_id"] = uuid.uuid4()
    return render(request, "dunning/case.html", context)


@require_POST
@finance_required(action="dunning.edit")
def case_retry(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_object_or_404(Case, pk=case_id)
    try:
        request_id = uuid.UUID(request.POST.get("request_id", ""))
    except ValueError:
        request_id = uuid.uuid4()
    try:
        attempt = actions.retry_now(case=case, actor=request.user, request_id=request_id)
    except actions.DunningError as error:
        messages.error(request, str(error))
        return redirect("dunning:case", case_id=case.pk)
    outcome = {
        "succeeded": ("success", "Payment collected: the invoice is paid."),
        "processing": ("success", "The bank debit is on its way; its outcome arrives in a few days."),
        "failed": ("warning", f"Declined again: {attempt.message or attempt.decline_code}"),
    }.get(attempt.status, ("warning", "Stripe did not answer; the attempt will be sent again shortly."))
    getattr(messages, outcome[0])(request, outcome[1])
    return redirect("dunning:case", case_id=case.pk)


@require_POST
@finance_required(action="dunning.edit")
def organisation_pause(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, pk=organisation_id)
    form = PauseForm(request.POST)
    back = request.POST.get("case")
    try:
        if not form.is_valid():
            raise actions.DunningError("Say why dunning is paused: the reason is kept in the audit log.")
        held = actions.dunning_pause(organisation=organisation, actor=request.user, reason=form.cleaned_data["reason"])
        messages.success(
            request, f"Dunning paused for {organisation.name} ({held} open case{'s' if held != 1 else ''})."
        )
    except actions.DunningError as error:
        messages.error(request, str(error))
    return _back(back)


@require_POST
@finance_required(action="dunning.edit")
def organisation_resume(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, pk=organisation_id)
    try:
        resumed = actions.dunning_resume(organisation=organisation, actor=request.user)
        messages.success(
            request, f"Dunning resumed for {organisation.name} ({resumed} case{'s' if resumed != 1 else ''})."
        )
    except actions.DunningError as error:
        messages.error(request, str(error))
    return _back(request.POST.get("case"))


def _back(case_id: str | None) -> HttpResponse:
    if case_id and case_id.isdigit() and Case.objects.filter(pk=int(case_id)).exists():
        return redirect("dunning:case", case_id=int(case_id))
    return redirect("dunning:paused")


@finance_required()
def paused(request: HttpRequest) -> HttpResponse:
    return render(request, "dunning/paused.html", {"pauses": selectors.paused_organisations()})


# --- policies -----------------------------------------------------------------------------------
@finance_required()
def policy_list(request: HttpRequest) -> HttpResponse:
    default_policy()
    counts = selectors.recovery_by_policy_counts()
    rows = [
        {"policy": p, "ended": counts.get(p.pk, (0, 0))[0], "recovered": counts.get(p.pk, (0, 0))[1]}
        for p in selectors.policies()
    ]
    return render(request, "dunning/policies.html", {"rows": rows, "templates": EmailTemplate.objects.all()})


def _plans():
    return list(
        Product.objects.filter(livemode__isnull=False)
        .order_by("stripe_data__name")
        .values_list("id", "stripe_data__name")
    )


@finance_required()
def policy_edit(request: HttpRequest, policy_id: int | None = None) -> HttpResponse:
    policy = get_object_or_404(Policy, pk=policy_id) if policy_id else None
    editable = can(request.user, "dunning.edit")
    if request.method == "POST" and not editable:
        raise PermissionDenied("Only finance admins change dunning policies")
    if policy is None and not editable:
        raise PermissionDenied("Only finance admins create dunning policies")
    steps = [(s.day, s.email) for s in policy.steps.select_related("email")] if policy else []
    errors: list[str] = []
    if request.method == "POST":
        form = PolicyForm(request.POST, plans=_plans())
        steps, errors = steps_from(request.POST)
        if form.is_valid() and not errors:
            try:
                saved = policy_save(instance=policy, data=form.policy_data(), steps=steps, actor=request.user)
            except PolicyError as error:
                errors = error.errors
            else:
                messages.success(
                    request, f"Policy “{saved.name}” saved. Open cases follow its schedule from their next step."
                )
                return redirect("dunning:policies")
    else:
        initial = initial_for(policy) if policy else {"priority": _free_priority(), "max_attempts": 4, "active": True}
        form = PolicyForm(initial=initial, plans=_plans())
    rows = [{"day": day, "email": email.pk if email else ""} for day, email in steps]
    rows += [{"day": "", "email": ""}] * (MAX_STEPS - len(rows))
    return render(
        request,
        "dunning/policy_form.html",
        {
            "form": form,
            "policy": policy,
            "step_rows": rows,
            "templates": EmailTemplate.objects.all(),
            "errors": errors,
            "editable": editable,
        },
    )


def _free_priority() -> int:
    used = set(Policy.objects.values_list("priority", flat=True))
    return next(p for p in range(10, 10_000, 10) if p not in used)


@finance_required()
def email_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=template_id)
    editable = can(request.user, "dunning.edit")
    if request.method == "POST":
        if not editable:
            raise PermissionDenied("Only finance admins change dunning emails")
        form = EmailTemplateForm(request.POST, instance=template)
        if form.is_valid():
            before = {"subject": template.subject, "body": template.body}
            form.save()
            audit(request.user, "dunning.email.update", template, before=before, after=form.cleaned_data)
            messages.success(request, f"Email “{template.name}” saved. Emails already written keep their text.")
            return redirect("dunning:policies")
    else:
        form = EmailTemplateForm(instance=template)
    return render(request, "dunning/email_form.html", {"form": form, "template": template, "editable": editable})


# --- analytics ----------------------------------------------------------------------------------
PERIODS = {"90": 90, "365": 365, "730": 730}
TITLES = {
    "policy": "policy",
    "method": "payment method type",
    "country": "country",
    "currency": "invoice currency",
    "attempt": "attempt that recovered",
}


@finance_required()
def analytics(request: HttpRequest) -> HttpResponse:
    period = request.GET.get("days") if request.GET.get("days") in PERIODS else "365"
    data = selectors.recovery(days=PERIODS[period])
    currency = data.currency
    charts = []
    for dimension in selectors.DIMENSIONS:
        rows = data.by.get(dimension, [])
        labels = [s.label for s in rows]
        charts.append(
            {
                "rows": rows,
                "title": TITLES[dimension],
                "amount": chart(
                    f"recovered-{dimension}",
                    f"Recovered by {TITLES[dimension]}",
                    labels,
                    [("Recovered", [s.recovered_amount for s in rows])],
                    currency=currency,
                    label_header=TITLES[dimension].capitalize(),
                ),
                "rate": chart(
                    f"rate-{dimension}",
                    f"Recovery rate by {TITLES[dimension]}",
                    labels,
                    [("Recovered %", [s.rate for s in rows])],
                    percent=True,
                    label_header=TITLES[dimension].capitalize(),
                    display=lambda v: "—" if v is None else f"{v} %",
                ),
            }
        )
    return render(
        request,
        "dunning/analytics.html",
        {
            "data": data,
            "charts": charts,
            "period": period,
            "periods": [("90", "90 days"), ("365", "12 months"), ("730", "2 years")],
            "recovered_total": format_money(data.recovered_amount, currency),
        },
    )
