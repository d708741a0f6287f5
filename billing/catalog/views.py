from __future__ import annotations

from babel.numbers import get_currency_name
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from djstripe.models import Product

from accounts.access import can, finance_required
from billing.catalog import selectors, services
from billing.money import to_minor
from billing.stripe.errors import StripeGatewayError

INTERVALS = [("month", "Monthly"), ("year", "Annual")]


class PriceForm(forms.Form):
    product = forms.ChoiceField(label="Product")
    currency = forms.CharField(
        label="Currency", max_length=3, widget=forms.TextInput(attrs={"placeholder": "EUR", "size": 4})
    )
    amount = forms.CharField(
        label="Per seat", max_length=20, widget=forms.TextInput(attrs={"placeholder": "12.50", "inputmode": "decimal"})
    )
    interval = forms.ChoiceField(label="Billed", choices=INTERVALS)
    lookup_key = forms.SlugField(
        label="Lookup key", max_length=200, widget=forms.TextInput(attrs={"placeholder": "pro_monthly_eur"})
    )
    nickname = forms.CharField(label="Name shown", max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = list(
            Product.objects.filter(livemode__isnull=False, stripe_data__active=True)
            .order_by("stripe_data__name")
            .values_list("id", "stripe_data__name")
        )

    def clean_currency(self):
        code = self.cleaned_data["currency"].strip().lower()
        if len(code) != 3 or get_currency_name(code.upper(), locale="en") == code.upper():
            raise forms.ValidationError(f"{code.upper()} is not an ISO 4217 currency code.")
        return code

    def clean(self):
        data = super().clean()
        if data.get("currency") and data.get("amount"):
            try:
                data["unit_amount"] = to_minor(data["amount"], data["currency"])
            except (ValueError, ArithmeticError) as error:
                self.add_error(
                    "amount", str(error) if "decimal places" in str(error) else "Enter an amount like 12.50."
                )
            else:
                if data["unit_amount"] <= 0:
                    self.add_error("amount", "A price is more than zero.")
        return data


@finance_required()
def catalog(request: HttpRequest) -> HttpResponse:
    show_archived = request.GET.get("archived") == "1"
    return render(
        request,
        "catalog/catalog.html",
        {
            "products": selectors.catalog(include_archived=show_archived),
            "show_archived": show_archived,
            "form": PriceForm(),
            "can_edit": can(request.user, "catalog.edit"),
        },
    )


@require_POST
@finance_required(action="catalog.edit")
def price_create(request: HttpRequest) -> HttpResponse:
    form = PriceForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(
                request, f"{form.fields[field].label if field in form.fields else 'Price'}: {' '.join(errors)}"
            )
        return redirect("catalog:catalog")
    data = form.cleaned_data
    try:
        price = services.price_create(
            product_id=data["product"],
            currency=data["currency"],
            unit_amount=data["unit_amount"],
            interval=data["interval"],
            lookup_key=data["lookup_key"],
            nickname=data["nickname"],
            actor=request.user,
        )
    except StripeGatewayError as error:
        messages.error(request, f"Stripe refused: {error.message}")
    else:
        messages.success(request, f"Price {price['id']} created.")
    return redirect("catalog:catalog")


@require_POST
@finance_required(action="catalog.edit")
def price_archive(request: HttpRequest, price_id: str) -> HttpResponse:
    try:
        services.price_archive(price_id=price_id, actor=request.user)
    except StripeGatewayError as error:
        messages.error(request, f"Stripe refused: {error.message}")
    else:
        messages.success(
            request, f"Price {price_id} archived: existing subscriptions keep it; nobody new can choose it."
        )
    return redirect("catalog:catalog")


@require_POST
@finance_required(action="catalog.edit")
def price_offer(request: HttpRequest, price_id: str) -> HttpResponse:
    def number(name: str) -> int | None:
        value = request.POST.get(name, "").strip()
        return int(value) if value.isdigit() else None

    try:
        services.offer_set(
            price_id=price_id,
            offered=request.POST.get("offered") == "1",
            position=number("position"),
            max_quantity=number("max_quantity"),
            actor=request.user,
        )
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Self-serve offer saved.")
    return redirect("catalog:catalog")
