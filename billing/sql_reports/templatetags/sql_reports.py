from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()
MAX_POINTS = 200
MAX_SERIES = 8


def _number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


@register.simple_tag
def report_chart(headers, data):
    """A chart of a result: the first column across, every all-number column after it a series."""
    if not headers or not data or len(headers) < 2:
        return None
    rows = data[:MAX_POINTS]
    series = [
        index
        for index in range(1, len(headers))
        if all(_number(row[index]) or row[index] is None for row in rows) and any(_number(row[index]) for row in rows)
    ][:MAX_SERIES]
    if not series:
        return None
    return {
        "labels": [str(row[0]) for row in rows],
        "datasets": [
            {
                "label": str(headers[index]),
                "data": [float(row[index]) if row[index] is not None else None for row in rows],
            }
            for index in series
        ],
        "truncated": len(data) > MAX_POINTS,
    }


@register.simple_tag
def reports_timeout_seconds() -> int:
    from django.conf import settings

    return settings.REPORTS_STATEMENT_TIMEOUT_SECONDS
