from __future__ import annotations

from django import forms


class CustomerSearchForm(forms.Form):
    """What the finance team types: Django's CharField refuses NUL characters, which SQLite's LIKE
    would read as the end of the pattern (matching everyone) and PostgreSQL refuses outright."""

    q = forms.CharField(max_length=200, required=False)
    country = forms.CharField(max_length=2, required=False)
