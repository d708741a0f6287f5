"""Template helpers for lists: sort headers and links that keep the filters."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, column) -> str:
    """A column header; sortable columns link to themselves ascending, then descending."""
    classes = "num" if column.num else ""
    if not column.sort:
        return format_html('<th class="{}">{}</th>', classes, column.label)
    current = context.get("sort", "")
    state = dict(context.get("state", {}))
    if current == column.sort:
        state["sort"], arrow, aria = f"-{column.sort}", " ↑", "ascending"
    elif current == f"-{column.sort}":
        state["sort"], arrow, aria = column.sort, " ↓", "descending"
    else:
        state["sort"], arrow, aria = column.sort, "", "none"
    state.pop("page", None)
    href = "?" + urlencode(state)
    return format_html(
        '<th class="{}" aria-sort="{}"><a href="{}" hx-get="{}" hx-target="#results" hx-push-url="true">{}{}</a></th>',
        classes,
        aria,
        href,
        href,
        column.label,
        arrow,
    )


@register.simple_tag(takes_context=True)
def page_url(context, number) -> str:
    state = dict(context.get("state", {}))
    state["page"] = number
    return "?" + urlencode(state)


@register.filter
def get_item(mapping, key):
    """`{{ offers|get_item:price.id }}`: a dict lookup by a variable key."""
    return mapping.get(key) if hasattr(mapping, "get") else None
