from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import finance_required
from billing.money import format_money
from billing.reports import metrics, selectors
from billing.reports.models import LedgerCheck
from billing.ui.charts import chart


def _label(month) -> str:
    return month.strftime("%b %Y")


@finance_required()
def dashboard(request: HttpRequest) -> HttpResponse:
    board = selectors.dashboard()
    labels = [_label(m) for m in board.months]
    currency = board.currency
    movements = selectors.MOVEMENT_ORDER
    context = {
        "board": board,
        "ledger_check": LedgerCheck.objects.first(),
        "definitions": metrics.DEFINITIONS,
        "last": -1,
        "mrr_chart": chart(
            "mrr", "MRR by month", labels, [("MRR", board.mrr)], currency=currency, kind="line", label_header="Month"
        ),
        "movement_chart": chart(
            "movements",
            "MRR movements",
            labels,
            [(k.label, board.movements[k]) for k in movements],
            currency=currency,
            stacked=True,
            label_header="Month",
        ),
        "collected_chart": chart(
            "collected",
            "Revenue collected",
            labels,
            [("Collected", board.collected_converted), ("Failed payments", board.failed_converted)],
            currency=currency,
            label_header="Month",
        ),
        "churn_chart": chart(
            "churn",
            "Churn",
            labels,
            [("Logo churn %", board.logo_churn), ("Revenue churn %", board.revenue_churn)],
            kind="line",
            percent=True,
            label_header="Month",
            display=lambda v: "—" if v is None else f"{v} %",
        ),
        "collected_rows": [
            {
                "currency": c.upper(),
                "cells": [format_money(v, c) for v in values[-6:]],
                "total": format_money(sum(values[-12:]), c),
            }
            for c, values in sorted(board.collected.items())
        ],
        "recent_labels": labels[-6:],
        "mrr_rows": [
            {
                "currency": c.upper(),
                "mrr": format_money(board.mrr_now_by_currency[c], c),
                "converted": format_money(board.mrr_now_converted.get(c), currency)
                if board.mrr_now_converted.get(c) is not None
                else "no rate",
            }
            for c in sorted(board.mrr_now_by_currency)
        ],
    }
    return render(request, "reports/dashboard.html", context)
