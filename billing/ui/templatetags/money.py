from django import template
from django.utils.html import format_html

from billing.money import format_money

register = template.Library()


@register.filter(name="money")
def money(amount_minor, currency):
    """`{{ invoice.amount_due|money:invoice.currency }}` -> `¥1,200`, `KD 1.500`, `€12.00`."""
    return format_money(amount_minor, currency)


@register.filter(name="timestamp")
def timestamp(value):
    """A Stripe Unix timestamp to an aware datetime for the `date` filter."""
    import datetime as dt

    if value in (None, ""):
        return None
    return dt.datetime.fromtimestamp(int(value), dt.UTC)


@register.filter(name="status_badge")
def status_badge(status):
    """`{{ invoice.status|status_badge }}`: a Stripe status as a coloured badge (written here, not as an
    included template: lists show one per row, and an include per row was a tenth of a list page)."""
    return format_html('<span class="badge badge-{}">{}</span>', status, label(status or "unknown"))


@register.filter(name="label")
def label(value):
    """`past_due` -> `Past due`: a Stripe status as people read it."""
    text = str(value or "").replace("_", " ")
    return text[:1].upper() + text[1:]
