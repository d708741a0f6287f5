from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import can, finance_required
from accounts.models import Organisation
from billing.currencies.fx import reporting_currency
from taxes import selectors, services
from taxes.forms import EndForm, ModeForm, PeriodForm, RateChangeForm, RegistrationForm, StatusForm, form_errors
from taxes.models import Registration, TaxSettings
from taxes.report import ReportError, by_jurisdiction, report_csv, tax_report
from taxes.tax_ids import TaxIdError
from taxes.thresholds import WARN_AT, threshold_watch


@finance_required()
def tax_settings(request: HttpRequest) -> HttpResponse:
    context = selectors.settings_page()
    settings = context["settings"]
    context.update(
        can_edit=can(request.user, "tax.edit"),
        mode_form=ModeForm(
            initial={
                "mode": settings.mode,
                "home_country": settings.home_country,
                "home_state": settings.home_state,
                "tax_behavior": settings.tax_behavior,
                "tax_code": settings.tax_code,
            }
        ),
        registration_form=RegistrationForm(request.session.pop("tax_registration_form", None) or None),
        rate_form=RateChangeForm(),
        today=timezone.now().date(),
    )
    return render(request, "taxes/settings.html", context)


def _submit(request: HttpRequest, form, *, failed: str, action, errors=(services.TaxError,)) -> bool:
    """Check `form`, then `action(cleaned_data)`, which returns what to tell the user; a form error or
    one of `errors` is shown as "`failed`: why" and nothing is done. True when it was done."""
    if not form.is_valid():
        messages.error(request, f"{failed}: {form_errors(form)}.")
        return False
    try:
        done = action(form.cleaned_data)
    except errors as error:
        messages.error(request, f"{failed}: {error}")
        return False
    messages.success(request, done)
    return True


@require_POST
@finance_required(action="tax.edit")
def mode_update(request: HttpRequest) -> HttpResponse:
    def save(data):
        row = services.tax_settings_update(actor=request.user, **data)
        return f"Saved: {row}. Customers' subscriptions move to it in the background; issued invoices keep their taxes."

    _submit(request, ModeForm(request.POST), failed="Not saved", action=save)
    return redirect("taxes:settings")


@require_POST
@finance_required(action="tax.edit")
def registration_add(request: HttpRequest) -> HttpResponse:
    def register(data):
        reg = services.registration_create(actor=request.user, **data)
        where = "at Stripe Tax" if reg.stripe_id else "with portal tax rates"
        return f"Registered {reg.jurisdiction} from {reg.effective_from:%Y-%m-%d} ({where})."

    if not _submit(request, RegistrationForm(request.POST), failed="Not registered", action=register):
        request.session["tax_registration_form"] = request.POST.dict()  # the form shows what was typed
    return redirect("taxes:settings")


@require_POST
@finance_required(action="tax.edit")
def registration_end(request: HttpRequest, pk: int) -> HttpResponse:
    reg = get_object_or_404(Registration, pk=pk)

    def end(data):
        services.registration_end(registration=reg, effective_to=data["effective_to"], actor=request.user)
        return f"{reg.jurisdiction} ends on {reg.effective_to:%Y-%m-%d}."

    _submit(request, EndForm(request.POST), failed="Not ended", action=end)
    return redirect("taxes:settings")


@require_POST
@finance_required(action="tax.edit")
def rate_change(request: HttpRequest) -> HttpResponse:
    def change(data):
        row = services.tax_rate_change(actor=request.user, **data)
        return (
            f"{row.jurisdiction} is now {row.percentage.normalize()} %: the old Stripe tax rate is archived "
            "(issued invoices keep it); subscriptions move to the new one in the background."
        )

    _submit(request, RateChangeForm(request.POST), failed="Rate not changed", action=change)
    return redirect("taxes:settings")


@require_POST
@finance_required(action="tax.edit")
def customer_status(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, pk=organisation_id)

    def set_status(data):
        row = services.customer_tax_status_set(organisation=organisation, actor=request.user, **data)
        return f"{organisation}: {row.get_status_display()}; Stripe has been told."

    _submit(
        request,
        StatusForm(request.POST),
        failed="Tax status not saved",
        action=set_status,
        errors=(services.TaxError, TaxIdError),
    )
    if organisation.stripe_customer_id:
        return redirect("customers:detail", organisation.stripe_customer_id)
    return redirect("taxes:settings")


def _default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return quarter_start, today


@finance_required()
def tax_report_page(request: HttpRequest) -> HttpResponse:
    today = timezone.now().date()
    start, end = _default_period(today)
    form = PeriodForm(request.GET or None, initial={"start": start, "end": end})
    error = ""
    report = None
    if request.GET:
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        else:
            error = f"Choose the period: {form_errors(form)}."
    if not error:
        try:
            report = tax_report(start=start, end=end)
        except ReportError as problem:
            error = str(problem)
    if report is not None and request.GET.get("format") == "csv":
        if not can(request.user, "export"):
            raise PermissionDenied("Your finance role does not allow exports")
        response = HttpResponse(report_csv(report), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="tax-report-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
        return response
    return render(
        request,
        "taxes/report.html",
        {
            "form": form,
            "error": error,
            "report": report,
            "summary": by_jurisdiction(report) if report else [],
            "start": start,
            "end": end,
            "watches": threshold_watch(today=today),
            "warn_at": WARN_AT,
            "can_export": can(request.user, "export"),
            "settings": TaxSettings.current(),
            "quote": reporting_currency(),
        },
        status=400 if error else 200,
    )
