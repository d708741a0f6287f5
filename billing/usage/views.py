"""Finance's usage pages: the dashboard, the periods list, one organisation, meters, the explainer."""

from __future__ import annotations

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from djstripe.models import Invoice

from accounts.access import can, finance_required
from accounts.models import Organisation
from billing.money import to_decimal
from billing.stripe.errors import StripeGatewayError
from billing.ui.filters import choice, clean_search, search_field
from billing.ui.lists import Column, ListSpec, list_response
from billing.usage import explain, keys, selectors, services
from billing.usage.charts import daily_charts
from billing.usage.forms import ApiKeyForm, CorrectionForm, MeterForm
from billing.usage.models import ApiKey, Meter, UsagePeriod


class PeriodFilter(django_filters.FilterSet):
    q = search_field("Organisation", "Name or slug")
    meter = django_filters.ChoiceFilter(label="Meter", method="filter_meter", empty_label="Any")
    status = choice("Status", [("open", "Open"), ("invoiced", "Invoiced")], "filter_status")
    attention = choice(
        "Needs attention", [("mismatch", "Stripe differs"), ("unreconciled", "Not reconciled yet")], "filter_attention"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["meter"].extra["choices"] = list(Meter.objects.values_list("key", "name"))

    def filter_search(self, queryset, name, value):
        value = clean_search(value)
        return queryset.filter(organisation__name__icontains=value) | queryset.filter(organisation__slug=value)

    def filter_meter(self, queryset, name, value):
        return queryset.filter(meter__key=value)

    def filter_status(self, queryset, name, value):
        return queryset.filter(closed_at__isnull=value == "open")

    def filter_attention(self, queryset, name, value):
        if value == "mismatch":
            return queryset.filter(reconciled_at__isnull=False).exclude(stripe_value=F("our_value"))
        return queryset.filter(reconciled_at__isnull=True)


PERIODS = ListSpec(
    name="usage_periods",
    filterset=PeriodFilter,
    columns=[
        Column("Organisation", sort="organisation"),
        Column("Meter"),
        Column("Period", sort="start"),
        Column("Quantity", sort="quantity", num=True),
        Column("Charge", num=True),
        Column("Stripe has", num=True),
        Column("Status"),
    ],
    sorts={"start": ("start",), "organisation": ("organisation__name",), "quantity": ("reported_value",)},
    default_sort="-start",
    results_template="usage/_periods.html",
    csv_header=["organisation", "meter", "start", "end", "quantity", "currency", "charge", "stripe_value", "invoice"],
    csv_row=lambda p: [
        p.organisation.slug,
        p.meter.key,
        p.start.isoformat(),
        p.end.isoformat(),
        p.reported_value,
        p.currency.upper(),
        to_decimal(p.reported_value * p.unit_amount, p.currency) if p.unit_amount is not None else "",
        "" if p.stripe_value is None else p.stripe_value,
        p.invoice_id,
    ],  # fmt: skip
    decorate=selectors.period_rows,
)


@finance_required()
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "usage/overview.html", selectors.dashboard())


@finance_required()
def period_list(request: HttpRequest) -> HttpResponse:
    return list_response(request, PERIODS, selectors.period_list(), page_template="usage/periods.html")


def _organisation_context(request, organisation: Organisation) -> dict:
    context = selectors.organisation_usage(organisation)
    context.update(
        organisation=organisation,
        charts=daily_charts(context["series"], context["dates"]),
        correction_form=CorrectionForm(),
        key_form=ApiKeyForm(),
        can_edit=can(request.user, "usage.edit"),
    )
    return context


@finance_required()
def organisation(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_object_or_404(Organisation, slug=slug)
    return render(request, "usage/organisation.html", _organisation_context(request, org))


@require_POST
@finance_required(action="usage.edit")
def correct(request: HttpRequest, period_id: int) -> HttpResponse:
    period = get_object_or_404(UsagePeriod.objects.select_related("organisation", "meter"), pk=period_id)
    form = CorrectionForm(request.POST)
    if form.is_valid():
        try:
            correction = services.correction_create(
                period=period, quantity=form.cleaned_data["quantity"], reason=form.cleaned_data["reason"],
                actor=request.user,
            )  # fmt: skip
        except services.UsageError as error:
            messages.error(request, str(error))
        else:
            services.correction_send(correction)
            correction.refresh_from_db()
            where = (
                "as an invoice item on the next invoice"
                if correction.route == "invoice_item"
                else "to Stripe's meter with the next report"
            )
            if correction.status == "failed":
                messages.error(request, f"Stripe refused the correction: {correction.error}")
            else:
                messages.success(
                    request, f"Correction of {correction.quantity:+,} {period.meter.unit}(s) recorded; it goes {where}."
                )
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("usage:organisation", slug=period.organisation.slug)


@require_POST
@finance_required(action="usage.edit")
def key_create(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_object_or_404(Organisation, slug=slug)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the key a name")
        return redirect("usage:organisation", slug=slug)
    key, raw = keys.api_key_create(organisation=org, name=form.cleaned_data["name"], actor=request.user)
    context = _organisation_context(request, org)
    context.update(new_key=key, new_key_value=raw)
    response = render(request, "usage/organisation.html", context)
    response["Cache-Control"] = "no-store"  # the key is shown once; no copy in any cache
    return response


@require_POST
@finance_required(action="usage.edit")
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey.objects.select_related("organisation"), pk=key_id)
    keys.api_key_revoke(key=key, actor=request.user)
    messages.success(request, f"Key {key.prefix}… revoked; the product's next batch with it gets a 401.")
    return redirect("usage:organisation", slug=key.organisation.slug)


@finance_required()
def meters(request: HttpRequest) -> HttpResponse:
    form = MeterForm(request.POST or None)
    if request.method == "POST":
        if not can(request.user, "usage.edit"):
            raise PermissionDenied("Only finance admins define meters")
        if form.is_valid():
            data = form.cleaned_data
            try:
                meter = services.meter_create(
                    key=data["key"], name=data["name"], unit=data["unit"], aggregation=data["aggregation"],
                    prices=data["prices"], inactive_after_days=data["inactive_after_days"], actor=request.user,
                )  # fmt: skip
            except services.UsageError as error:
                form.add_error(None, str(error))
            except StripeGatewayError as error:
                form.add_error(None, f"Stripe refused it: {error.message}")
            else:
                messages.success(request, f"Meter {meter.name} created with its Stripe meter and prices.")
                return redirect("usage:meters")
    rows = Meter.objects.prefetch_related("prices")
    return render(
        request, "usage/meters.html", {"meters": rows, "form": form, "can_edit": can(request.user, "usage.edit")}
    )


@finance_required()
def explain_invoice(request: HttpRequest, invoice_id: str) -> HttpResponse:
    invoice = Invoice.mirror.real().filter(id=invoice_id).select_related("customer").first()
    if invoice is None:
        raise Http404("No such invoice in the mirror")
    organisation = Organisation.objects.filter(stripe_customer_id=invoice.customer_id).first()
    context = {
        "invoice": invoice,
        "organisation": organisation,
        "entries": explain.explain_invoice(invoice),
        "finance": True,
    }
    return render(request, "usage/explain.html", context)
