from __future__ import annotations

from django import forms
from django.utils import timezone
from django_countries import countries

from taxes.models import CustomerType, RegistrationScheme, RegistrationType, TaxBehavior, TaxMode, TaxStatus
from taxes.tax_ids import TYPES

DATE = forms.DateInput(attrs={"type": "date"})


class ModeForm(forms.Form):
    mode = forms.ChoiceField(choices=TaxMode.choices, widget=forms.RadioSelect)
    home_country = forms.ChoiceField(label="Established in", choices=list(countries))
    home_state = forms.CharField(label="State/province", max_length=3, required=False)
    tax_behavior = forms.ChoiceField(label="Prices", choices=TaxBehavior.choices)
    tax_code = forms.CharField(label="Product tax code (Stripe Tax)", max_length=20)


class RegistrationForm(forms.Form):
    country = forms.ChoiceField(choices=[("", "Country…"), *countries])
    state = forms.CharField(
        label="State/province",
        max_length=3,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "CA", "size": 4}),
    )
    tax_type = forms.ChoiceField(label="Tax", choices=RegistrationType.choices)
    scheme = forms.ChoiceField(choices=RegistrationScheme.choices, initial=RegistrationScheme.standard)
    number = forms.CharField(label="Registration number", max_length=64, required=False)
    effective_from = forms.DateField(label="From", widget=DATE, initial=lambda: timezone.now().date())
    effective_to = forms.DateField(label="To (optional)", widget=DATE, required=False)


class EndForm(forms.Form):
    effective_to = forms.DateField(widget=DATE)


class RateChangeForm(forms.Form):
    jurisdiction = forms.CharField(max_length=8)
    percentage = forms.CharField(
        label="New rate (%)", max_length=12, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    source = forms.CharField(label="Source", max_length=300)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=TaxStatus.choices)
    customer_type = forms.ChoiceField(label="Customer", choices=CustomerType.choices)
    state = forms.CharField(label="State/province", max_length=3, required=False)
    tax_id_type = forms.ChoiceField(
        label="Tax ID type", choices=[("", "—"), *[(t.code, t.label) for t in TYPES.values()]], required=False
    )
    tax_id_value = forms.CharField(label="Tax ID", max_length=64, required=False)
    certificate_ref = forms.CharField(label="Exemption certificate", max_length=120, required=False)
    certificate_expires = forms.DateField(label="Certificate expires", widget=DATE, required=False)
    note = forms.CharField(max_length=300, required=False)


class PeriodForm(forms.Form):
    start = forms.DateField(widget=DATE)
    end = forms.DateField(widget=DATE)


def form_errors(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[f].label or f.replace('_', ' ')}: {' '.join(e)}" if f in form.fields else " ".join(e)
        for f, e in form.errors.items()
    )
