"""The Chart tab's data: a point per row, and amounts never on one axis across currencies."""

from decimal import Decimal

from billing.sql_reports.templatetags.sql_reports import report_chart

HEADERS = ["country", "currency", "plan", "invoices", "revenue_minor"]
ROWS = [
    ("US", "usd", "Pro", 3, 2625),
    ("JP", "jpy", "Pro", 2, 2100),
    ("KW", "kwd", "Pro", 1, Decimal(2700)),
    ("CA", "usd", "Team", 1, 875),
]


def test_a_result_with_a_currency_column_is_charted_one_currency_at_a_time_in_major_units():
    chart = report_chart(HEADERS, ROWS)
    assert chart["currencies"] == ["USD", "JPY", "KWD"]  # the most rows first: what the tab opens on
    usd = chart["by_currency"]["USD"]
    assert usd["labels"] == ["US · Pro", "CA · Team"]
    assert usd["datasets"] == [
        {"label": "invoices", "money": False, "data": [3.0, 1.0]},
        {"label": "revenue (USD)", "money": True, "data": [26.25, 8.75]},
    ]
    assert chart["by_currency"]["JPY"]["datasets"][1] == {"label": "revenue (JPY)", "money": True, "data": [2100.0]}
    assert chart["by_currency"]["KWD"]["datasets"][1] == {"label": "revenue (KWD)", "money": True, "data": [2.7]}
    assert "labels" not in chart and "datasets" not in chart  # one copy of each currency's chart


def test_rows_without_a_currency_are_left_out_and_none_is_a_gap():
    chart = report_chart(HEADERS, [("US", "usd", "Pro", None, 100), ("??", None, "Pro", 1, 5)])
    assert chart["currencies"] == ["USD"]
    datasets = chart["by_currency"]["USD"]["datasets"]
    assert [(d["label"], d["data"]) for d in datasets] == [("invoices", [None]), ("revenue (USD)", [1.0])]


def test_without_a_currency_column_the_first_column_goes_across():
    chart = report_chart(["month", "customers", "churned"], [(202601, 10, 1), (202602, 12, None)])
    assert chart["currencies"] == [] and chart["labels"] == ["202601", "202602"]
    assert [d["label"] for d in chart["datasets"]] == ["customers", "churned"]


def test_nothing_to_chart():
    assert report_chart(["name", "country"], [("Acme", "US")]) is None
    assert report_chart(["n"], [(1,)]) is None
    assert report_chart(HEADERS, []) is None
