from __future__ import annotations

from django import forms

from billing.currencies.fx import reporting_currency
from billing.currencies.models import RoundingMode

ENDING_HINT = "Last digits in minor units: 99 → 12.99, 900 → ¥1,900, 00 → whole units. Empty: to the cent."


class LaunchSettingsForm(forms.Form):
    """What a finance admin chooses; the services check it all (and say what is wrong)."""

    countries = forms.CharField(
        max_length=300,
        help_text="ISO codes, comma-separated (JP, or SE, NO)",
        widget=forms.TextInput(attrs={"placeholder": "JP", "autocomplete": "off"}),
    )
    rounding_mode = forms.ChoiceField(choices=RoundingMode.choices, initial=RoundingMode.nearest, label="Rounding")
    charm_ending = forms.CharField(
        max_length=6,
        required=False,
        label="Charm ending",
        help_text=ENDING_HINT,
        widget=forms.TextInput(attrs={"placeholder": "99", "inputmode": "numeric", "list": "endings", "size": 6}),
    )
    sibling_tolerance = forms.CharField(
        max_length=8,
        initial="10",
        label="Sibling tolerance %",
        help_text="Flag prices further than this from the product's price in another currency",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}),
    )
    note = forms.CharField(max_length=500, required=False, widget=forms.TextInput(attrs={"placeholder": "Why now"}))


class LaunchCreateForm(LaunchSettingsForm):
    currency = forms.CharField(
        max_length=3, widget=forms.TextInput(attrs={"placeholder": "JPY", "size": 4, "autocomplete": "off"})
    )
    source_currency = forms.CharField(
        max_length=3,
        initial=lambda: reporting_currency().upper(),
        label="Converted from",
        widget=forms.TextInput(attrs={"size": 4}),
    )
    field_order = ["currency", "countries", "source_currency", "rounding_mode", "charm_ending", "sibling_tolerance"]


class OverrideForm(forms.Form):
    row = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.CharField(max_length=30, required=False)
    reason = forms.CharField(max_length=300, required=False)


class RollbackForm(forms.Form):
    reason = forms.CharField(max_length=500)
