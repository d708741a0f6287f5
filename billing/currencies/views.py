from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import can, finance_required
from billing.currencies import services
from billing.currencies.fx import max_age_days, reporting_currency
from billing.currencies.models import FxRate


class RateForm(forms.Form):
    currency = forms.CharField(max_length=3, widget=forms.TextInput(attrs={"placeholder": "EUR", "size": 4}))
    rate = forms.CharField(
        max_length=30, widget=forms.TextInput(attrs={"placeholder": "1.0842", "inputmode": "decimal"})
    )
    day = forms.DateField(initial=lambda: timezone.now().date(), widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "ECB reference rate"}))


@finance_required()
def fx_rates(request: HttpRequest) -> HttpResponse:
    quote = reporting_currency()
    latest: dict[str, FxRate] = {}
    for rate in FxRate.objects.filter(quote=quote).select_related("created_by").order_by("currency", "-day"):
        latest.setdefault(rate.currency, rate)
    history = FxRate.objects.filter(quote=quote).select_related("created_by").order_by("-day", "currency")[:100]
    return render(
        request,
        "currencies/fx.html",
        {
            "quote": quote,
            "latest": latest.values(),
            "history": history,
            "form": RateForm(),
            "can_edit": can(request.user, "fx.edit"),
            "fresh_since": timezone.now().date() - dt.timedelta(days=max_age_days()),
            "max_age": max_age_days(),
        },
    )


@require_POST
@finance_required(action="fx.edit")
def fx_rate_add(request: HttpRequest) -> HttpResponse:
    form = RateForm(request.POST)
    if form.is_valid():
        try:
            fx = services.fx_rate_set(quote=reporting_currency(), actor=request.user, **form.cleaned_data)
        except ValueError as error:
            messages.error(request, f"Not saved: {error}.")
        else:
            messages.success(request, f"Saved: {fx}.")
    else:
        messages.error(request, "Not saved: " + "; ".join(f"{f}: {', '.join(e)}" for f, e in form.errors.items()))
    return redirect("currencies:fx")


@require_POST
@finance_required(action="fx.edit")
def fx_import(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None or upload.size > 1_000_000:
        messages.error(request, "Choose a CSV file of at most 1 MB.")
        return redirect("currencies:fx")
    try:
        count = services.fx_import_csv(data=upload.read(), quote=reporting_currency(), actor=request.user)
    except services.FxError as error:
        for line in error.errors[:20]:
            messages.error(request, f"Nothing imported: {line}")
    else:
        messages.success(request, f"Imported {count} rate{'s' if count != 1 else ''}.")
    return redirect("currencies:fx")
