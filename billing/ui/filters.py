"""Filter fields shared by the lists: choices read from the mirror, amounts in major units."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

import django_filters
from django import forms
from django.db.models import Q
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from billing.money import exponent

SEARCH_MAX = 200


class SearchInput(forms.TextInput):
    input_type = "search"


SELECTED = SafeString(" selected")


class FastSelect(forms.Select):
    """A <select> written in Python: Django renders each <option> through the template engine, and a
    country filter's 250 of them were half the time of a list page."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in self.format_value(value)}
        flat = []
        for choice_value, label in self.choices:
            group = label if isinstance(label, list | tuple) else None
            flat += [("" if v is None else str(v), text) for v, text in group or [(choice_value, label)]]
        options = format_html_join(
            "", '<option value="{}"{}>{}</option>', ((v, SELECTED if v in selected else "", t) for v, t in flat)
        )
        final = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)


def fast_selects(form: forms.Form) -> None:
    """Swap the plain <select>s of a (per-request copy of a) filter form for `FastSelect`."""
    for field in form.fields.values():
        if type(field.widget) is forms.Select:
            field.widget = FastSelect(attrs=field.widget.attrs, choices=field.widget.choices)


def product_choices() -> list[tuple[str, str]]:
    """The products a plan filter offers, read when the filter is shown or checked (a callable, so a
    list served from the cache does not ask)."""
    from djstripe.models import Product

    products = Product.objects.filter(livemode__isnull=False).order_by("stripe_data__name")
    return list(products.values_list("id", "stripe_data__name"))


def clean_search(value: str) -> str:
    """What people typed, without control characters (a NUL is not a wildcard, and PostgreSQL refuses it),
    cut to a length a person types."""
    return "".join(ch for ch in value if ch.isprintable()).strip()[:SEARCH_MAX]


class SearchField(forms.CharField):
    """A NUL (which PostgreSQL refuses, and some tools read as a wildcard) or a search longer than
    anyone types is refused with a message; other control characters are dropped."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", SEARCH_MAX)
        super().__init__(**kwargs)

    def clean(self, value):
        return clean_search(super().clean(value) or "")


class SearchFilter(django_filters.CharFilter):
    field_class = SearchField


def search_field(label: str, placeholder: str) -> django_filters.CharFilter:
    return SearchFilter(
        label=label,
        method="filter_search",
        widget=SearchInput(attrs={"placeholder": placeholder, "maxlength": SEARCH_MAX}),
    )


def choice(label: str, choices, method: str) -> django_filters.ChoiceFilter:
    return django_filters.ChoiceFilter(label=label, choices=choices, method=method, empty_label="Any")


YES_NO = [("yes", "Yes"), ("no", "No")]


@lru_cache(maxsize=1)
def _countries() -> tuple[tuple[str, str], ...]:
    from django_countries import countries

    return tuple((country.code, str(country.name)) for country in countries)


def country_choices() -> tuple[tuple[str, str], ...]:
    """Every country, as plain pairs made once: a filter set copies its filters on every request,
    and copying 250 lazy country names was the slowest part of a list page."""
    return _countries()


def amount_range_q(prefix: str, amount_key: str, currency_key: str, low: Decimal | None, high: Decimal | None) -> Q:
    """Rows whose amount (minor units in JSON) lies in [low, high] major units, each in its own currency.

    The same "100" is 10000 cents, 100 yen and 100000 fils: one condition per decimal exponent."""
    groups: dict[int, list[str]] = {}
    for code in KNOWN_CURRENCIES:
        groups.setdefault(exponent(code), []).append(code)
    condition = Q()
    for digits, codes in groups.items():
        scale = 10**digits
        part = Q(**{f"{prefix}stripe_data__{currency_key}__in": codes})
        if low is not None:
            part &= Q(**{f"{prefix}stripe_data__{amount_key}__gte": int(low * scale)})
        if high is not None:
            part &= Q(**{f"{prefix}stripe_data__{amount_key}__lte": int(high * scale)})
        condition |= part
    return condition


# Currencies Stripe supports that the portal may meet; amounts in others are matched as two-decimal.
KNOWN_CURRENCIES = [
    "usd",
    "eur",
    "gbp",
    "jpy",
    "krw",
    "kwd",
    "bhd",
    "jod",
    "omr",
    "tnd",
    "aud",
    "cad",
    "chf",
    "sek",
    "nok",
    "dkk",
    "pln",
    "czk",
    "huf",
    "brl",
    "mxn",
    "inr",
    "sgd",
    "hkd",
    "nzd",
    "zar",
    "aed",
    "sar",
    "ils",
    "try",
    "twd",
    "thb",
    "idr",
    "myr",
    "php",
    "vnd",
    "clp",
    "cop",
    "pen",
    "ars",
    "isk",
    "ugx",
    "xof",
    "xaf",
]


class AmountRangeForm(forms.Form):
    """Adds the check every amount range needs: a minimum above the maximum is a mistake."""

    def clean(self):
        data = super().clean()
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError("The minimum amount is above the maximum.")
        return data


def decimal_or_none(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None
