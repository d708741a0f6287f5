"""Charts as data: one structure feeds both the drawn chart (Chart.js, vendored) and its table."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from billing.money import exponent, format_money


def chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    currency: str | None = None,
    kind: str = "bar",
    stacked: bool = False,
    note: str = "",
    label_header: str = "",
    display: Callable[[int], str] | None = None,
    percent: bool = False,
) -> dict:
    """`series`: (name, values) with values in minor units when `currency` is given (shown with
    Babel in the table; drawn as major units), counts or percentages otherwise."""
    digits = exponent(currency) if currency else 0
    if display is None:
        display = (lambda v: format_money(v, currency)) if currency else (lambda v: f"{v:,}" if v is not None else "—")
    scale = 10**digits
    return {
        "id": chart_id,
        "data_id": f"{chart_id}-data",
        "title": title,
        "note": note,
        "label_header": label_header,
        "datasets": [{"label": name} for name, _ in series],
        "rows": [
            {"label": label, "cells": [display(values[i]) for _, values in series]} for i, label in enumerate(labels)
        ],
        "js": {
            "type": kind,
            "stacked": stacked,
            "labels": list(labels),
            "currency": currency.upper() if currency else None,
            "digits": digits,
            "percent": percent,
            # Drawing coordinates in major units; the money itself stays integer minor units.
            "datasets": [
                {"label": name, "data": [(v / scale if scale > 1 else v) if v is not None else None for v in values]}
                for name, values in series
            ],
        },
    }
