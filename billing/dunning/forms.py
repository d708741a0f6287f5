"""Forms of the dunning pages: a policy with its steps, an email template, a pause."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django_countries import countries

from billing.dunning.emails import PLACEHOLDERS, template_errors
from billing.dunning.models import METHOD_TYPES, EmailTemplate, FinalAction, Policy, Segment
from billing.money import exponent
from billing.ui.filters import KNOWN_CURRENCIES

CURRENCY_CHOICES = [(c, c.upper()) for c in KNOWN_CURRENCIES]

MAX_STEPS = 10


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=100)
    priority = forms.IntegerField(help_text="Lower numbers are tried first; each policy has its own")
    active = forms.BooleanField(required=False, initial=True)
    segment = forms.ChoiceField(choices=[("", "Any")] + list(Segment.choices), required=False)
    countries = forms.MultipleChoiceField(choices=list(countries), required=False, help_text="None chosen: any")
    plans = forms.MultipleChoiceField(choices=[], required=False, help_text="None chosen: any")
    currency = forms.ChoiceField(choices=[("", "Any")] + CURRENCY_CHOICES, required=False)
    amount_min = forms.CharField(required=False, label="Amount from", help_text="In the currency above")
    amount_max = forms.CharField(required=False, label="Amount up to")
    method_types = forms.MultipleChoiceField(
        choices=METHOD_TYPES, required=False, widget=forms.CheckboxSelectMultiple, help_text="None chosen: any"
    )
    max_attempts = forms.IntegerField(help_text="Attempts by the portal, manual retries included")
    final_action = forms.ChoiceField(choices=FinalAction.choices)
    opening_email = forms.ModelChoiceField(EmailTemplate.objects.all(), required=False, label="Email when it fails")
    final_email = forms.ModelChoiceField(EmailTemplate.objects.all(), required=False, label="Email at the end")
    recovered_email = forms.ModelChoiceField(EmailTemplate.objects.all(), required=False, label="Email when paid")

    def __init__(self, *args, plans=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plans"].choices = list(plans)

    def _amount(self, key: str) -> int | None:
        raw = (self.cleaned_data.get(key) or "").strip()
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.add_error(key, "Type an amount, e.g. 100 or 99.50.")
            return None
        currency = self.cleaned_data.get("currency") or "usd"
        if not value.is_finite():
            self.add_error(key, "Type an amount, e.g. 100 or 99.50.")
            return None
        return int(value * 10 ** exponent(currency))

    def policy_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["amount_min"], data["amount_max"] = self._amount("amount_min"), self._amount("amount_max")
        return data


def steps_from(post, prefix: str = "step") -> tuple[list[tuple[int, EmailTemplate | None]], list[str]]:
    """The steps typed in the form's rows (`step-N-day`, `step-N-email`); blank rows are left out."""
    templates = {str(t.pk): t for t in EmailTemplate.objects.all()}
    steps, errors = [], []
    for n in range(MAX_STEPS):
        raw = (post.get(f"{prefix}-{n}-day") or "").strip()
        if not raw:
            continue
        try:
            day = int(raw)
        except ValueError:
            errors.append(f"Step {n + 1}: “{raw[:20]}” is not a whole number of days.")
            continue
        steps.append((day, templates.get(post.get(f"{prefix}-{n}-email") or "")))
    return steps, errors


def initial_for(policy: Policy) -> dict:
    exp = exponent(policy.currency or "usd")
    return {
        **{name: getattr(policy, name) for name in ("name", "priority", "active", "segment", "countries", "plans")},
        "currency": policy.currency,
        "amount_min": "" if policy.amount_min is None else Decimal(policy.amount_min) / 10**exp,
        "amount_max": "" if policy.amount_max is None else Decimal(policy.amount_max) / 10**exp,
        "method_types": policy.method_types,
        "max_attempts": policy.max_attempts,
        "final_action": policy.final_action,
        "opening_email": policy.opening_email_id,
        "final_email": policy.final_email_id,
        "recovered_email": policy.recovered_email_id,
    }


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}
        help_texts = {"body": "Fields: " + ", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS)}

    def clean(self):
        data = super().clean()
        for error in template_errors(data.get("subject") or "", data.get("body") or ""):
            self.add_error(None, error)
        return data


class PauseForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
