from __future__ import annotations

import re

from django import forms

from billing.money import to_minor
from billing.usage.models import Aggregation

PRICE = re.compile(r"^\s*([A-Za-z]{3})\s+([0-9]+(?:\.[0-9]+)?)\s*$")


class CorrectionForm(forms.Form):
    quantity = forms.IntegerField(
        label="Units to add (negative to remove)", min_value=-(10**12), max_value=10**12,
        widget=forms.NumberInput(attrs={"class": "input-short"}),
    )  # fmt: skip
    reason = forms.CharField(
        label="Reason (shown to the customer)", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError("A correction of zero changes nothing")
        return quantity

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if "\x00" in reason or not reason:
            raise forms.ValidationError("Say why, in words")
        return reason


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, initial="Product",
        widget=forms.TextInput(attrs={"placeholder": "e.g. production backend"}),
    )  # fmt: skip

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if "\x00" in name or not name:
            raise forms.ValidationError("Give the key a name you will recognise")
        return name


class MeterForm(forms.Form):
    key = forms.SlugField(label="Key (what the product sends)", max_length=64)
    name = forms.CharField(label="Name", max_length=200)
    unit = forms.CharField(label="Unit", max_length=40, initial="unit")
    aggregation = forms.ChoiceField(label="Aggregation", choices=Aggregation.choices)
    inactive_after_days = forms.IntegerField(
        label="Inactive after (days, active seats)", min_value=1, max_value=90, initial=14
    )
    prices = forms.CharField(
        label="Price per unit, per currency",
        help_text="One per line or comma-separated, in major units: USD 0.05, JPY 8",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "USD 0.05, JPY 8, EUR 0.05"}),
    )

    def clean_prices(self):
        found: dict[str, int] = {}
        for part in re.split(r"[,\n]", self.cleaned_data["prices"]):
            if not part.strip():
                continue
            match = PRICE.match(part)
            if not match:
                raise forms.ValidationError(f"“{part.strip()[:40]}” is not a currency and an amount, like USD 0.05")
            currency, amount = match.group(1).lower(), match.group(2)
            try:
                found[currency] = to_minor(amount, currency)
            except (ValueError, ArithmeticError) as error:
                raise forms.ValidationError(str(error)) from None
        if not found:
            raise forms.ValidationError("Give at least one price")
        return found
