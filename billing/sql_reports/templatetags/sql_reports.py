from __future__ import annotations

import re
from decimal import Decimal

from django import template

from billing import money

register = template.Library()
MAX_POINTS = 200
MAX_SERIES = 8


def _number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


CURRENCY_HEADERS = {"currency", "currency_code"}
CURRENCY = re.compile(r"[A-Za-z]{3}")
MAX_LABEL_PARTS = 3


def _money_column(header: str) -> bool:
    """Columns the library names `…_minor` hold minor units of the row's currency."""
    return str(header).lower().endswith("_minor")


def _currency_column(headers, rows) -> int | None:
    for index, header in enumerate(headers):
        if str(header).lower() in CURRENCY_HEADERS and all(
            row[index] is None or (isinstance(row[index], str) and CURRENCY.fullmatch(row[index])) for row in rows
        ):
            return index
    return None


@register.simple_tag
def report_chart(headers, data):
    """A chart of a result: a bar (or point) per row, every all-number column a series.

    Each bar is labelled by the row's text columns (up to three, "US · eur · Pro"). Amounts are never
    put on one axis across currencies: a result with a currency column is charted one currency at a
    time (the page offers the others), and its `…_minor` columns are shown in major units of that
    currency (¥1,050 as 1050, $8.75 as 8.75, KWD 2.700 as 2.7).
    """
    if not headers or not data or len(headers) < 2:
        return None
    rows = data[:MAX_POINTS]
    currency_at = _currency_column(headers, rows)
    series = [
        index
        for index in range(len(headers))
        if index != currency_at
        and all(_number(row[index]) or row[index] is None for row in rows)
        and any(_number(row[index]) for row in rows)
    ]
    if series and series[0] == 0:
        series = series[1:]  # the first column is across, whatever it holds
    series = series[:MAX_SERIES]
    if not series:
        return None
    text = [index for index in range(len(headers)) if index not in series and index != currency_at]
    text = (text or [0])[:MAX_LABEL_PARTS]

    def label(row) -> str:
        return " · ".join("—" if row[index] is None else str(row[index]) for index in text)

    def chart_of(chosen: list, currency: str | None) -> dict:
        def dataset(index: int) -> dict:
            if currency and _money_column(headers[index]):
                return {
                    "label": f"{str(headers[index])[: -len('_minor')]} ({currency.upper()})",
                    "money": True,
                    "data": [
                        None if row[index] is None else float(money.to_decimal(row[index], currency)) for row in chosen
                    ],
                }
            return {
                "label": str(headers[index]),
                "money": False,
                "data": [None if row[index] is None else float(row[index]) for row in chosen],
            }

        return {"labels": [label(row) for row in chosen], "datasets": [dataset(index) for index in series]}

    chart = {"truncated": len(data) > MAX_POINTS, "rows_charted": len(rows), "currencies": []}
    if currency_at is None:
        return chart | chart_of(rows, None)
    by_currency: dict[str, list] = {}
    for row in rows:
        by_currency.setdefault((row[currency_at] or "").lower(), []).append(row)
    by_currency.pop("", None)  # a row without a currency has no amount to chart beside others
    if not by_currency:
        return None
    # The currency with the most rows first: the chart a person sees on opening the tab.
    order = sorted(by_currency, key=lambda code: (-len(by_currency[code]), code))
    chart["currencies"] = [code.upper() for code in order]
    chart["by_currency"] = {code.upper(): chart_of(by_currency[code], code) for code in order}
    return chart


@register.simple_tag
def reports_timeout_seconds() -> int:
    from django.conf import settings

    return settings.REPORTS_STATEMENT_TIMEOUT_SECONDS
