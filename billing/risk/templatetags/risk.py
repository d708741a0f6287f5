"""Template helpers of the risk pages."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def code_label(value) -> str:
    """Stripe's codes as words: `refunded_as_fraud` -> `Refunded as fraud`."""
    text = str(value or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.filter
def due_in(when: dt.datetime | None) -> str:
    """`in 2 days`, `in 5 hours`, `3 days ago`: how far a due date is from now."""
    if not when:
        return ""
    seconds = (when - timezone.now()).total_seconds()
    hours = abs(seconds) / 3600
    if hours < 47.5:
        span = f"{round(hours)} hour{'' if round(hours) == 1 else 's'}"
    else:
        span = f"{round(hours / 24)} days"
    return f"in {span}" if seconds >= 0 else f"{span} ago"


@register.filter
def due_class(when: dt.datetime | None) -> str:
    if not when:
        return ""
    left = (when - timezone.now()).total_seconds() / 86400
    return "due-past" if left < 0 else "due-urgent" if left <= 3 else "due-soon" if left <= 7 else ""
