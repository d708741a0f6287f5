"""Forms of the customer's billing pages. Services check the rules again; forms give field errors."""

from __future__ import annotations

from django import forms
from django_countries import countries

from taxes import tax_ids


class BillingDetailsForm(forms.Form):
    name = forms.CharField(label="Legal name", max_length=200, help_text="As it appears on invoices")
    email = forms.EmailField(label="Billing email", help_text="Invoices and receipts go here")
    extra_emails = forms.CharField(
        label="Also send to",
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": "finance@example.com, ap@example.com"}),
        help_text="Up to five more addresses, separated by commas",
    )
    line1 = forms.CharField(label="Street", max_length=200)
    line2 = forms.CharField(label="Street (line 2)", max_length=200, required=False)
    postal_code = forms.CharField(label="Postal code", max_length=20, required=False)
    city = forms.CharField(label="City", max_length=100)
    state = forms.CharField(label="State / region", max_length=100, required=False)
    country = forms.ChoiceField(label="Country", choices=[("", "—"), *countries])

    @classmethod
    def from_customer(cls, customer) -> BillingDetailsForm:
        data = customer.stripe_data if customer else {}
        address = data.get("address") or {}
        return cls(
            initial={
                "name": data.get("name") or "",
                "email": data.get("email") or "",
                "extra_emails": (data.get("metadata") or {}).get("billing_emails_cc") or "",
                **{
                    key: address.get(key) or "" for key in ("line1", "line2", "postal_code", "city", "state", "country")
                },
            }
        )


def tax_id_choices(country: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Tax ID types, the organisation's country's first."""
    own = tax_ids.types_for_country(country)
    others = [t for t in tax_ids.TYPES.values() if t not in own]
    groups = []
    if own:
        groups.append(("For your country", [(t.code, f"{t.label} (e.g. {t.example})") for t in own]))
    groups.append(("Other countries", [(t.code, f"{t.label} (e.g. {t.example})") for t in others]))
    return groups


class TaxIdForm(forms.Form):
    kind = forms.ChoiceField(label="Kind")
    value = forms.CharField(label="Number", max_length=64)

    def __init__(self, *args, country: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = tax_id_choices(country)
        own = tax_ids.types_for_country(country)
        if own and not self.is_bound:
            self.fields["kind"].initial = own[0].code


class VerifyForm(forms.Form):
    descriptor_code = forms.CharField(
        label="Code", max_length=6, required=False, widget=forms.TextInput(attrs={"placeholder": "SM11AA"})
    )
    amount_1 = forms.CharField(label="First amount (cents)", max_length=3, required=False)
    amount_2 = forms.CharField(label="Second amount (cents)", max_length=3, required=False)


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(
        label="Role",
        choices=[("billing_admin", "Billing admin"), ("member", "Member"), ("owner", "Owner")],
        initial="billing_admin",
    )
