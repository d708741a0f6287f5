from __future__ import annotations

import datetime as dt

from django import forms

from billing.stripe.models import EventStatus


class EventFilterForm(forms.Form):
    """The events page's filters. A bad value is named in a message and that filter left out."""

    type = forms.CharField(max_length=100, required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *EventStatus.choices], required=False)
    object = forms.CharField(max_length=255, required=False)
    date = forms.DateField(required=False, error_messages={"invalid": "This is not a date (use YYYY-MM-DD)."})

    def clean_date(self) -> dt.date | None:
        day = self.cleaned_data["date"]
        # The day after must exist too (the filter runs to midnight after), and events start in 1970.
        if day is not None and not dt.date(1970, 1, 1) <= day < dt.date.max:
            raise forms.ValidationError("Enter a date between 1970-01-01 and 9999-12-30.")
        return day

    def filters(self) -> dict:
        """The valid filters, for the selector; call after is_valid()."""
        return {
            "type_prefix": self.cleaned_data.get("type", ""),
            "status": self.cleaned_data.get("status", ""),
            "object_id": self.cleaned_data.get("object", ""),
            "day": self.cleaned_data.get("date"),
        }

    def problems(self) -> list[str]:
        """One sentence per bad filter, quoting (the start of) what was typed."""
        return [
            f"{name.title()} “{self.data.get(name, '')[:60]}”: {' '.join(errors)} Not filtered by {name}."
            for name, errors in self.errors.items()
        ]
