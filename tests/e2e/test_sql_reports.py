"""An analyst writes, saves, runs, charts, exports and schedules a report in the browser; pages fit a phone."""

import pytest
from explorer.models import Query

from billing.sql_reports.models import ReportSchedule
from tests.billing.sql_reports.conftest import reports_db  # noqa: F401  (the fixture)
from tests.e2e.test_browser import browser, log_in  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, databases=["default", "reports"])]

SQL = "SELECT country, COUNT(*) AS organisations FROM accounts_organisation GROUP BY country ORDER BY country"


def test_an_analyst_writes_saves_runs_charts_exports_and_schedules(browser, live_server, people, reports_db):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    log_in(page, live_server.url, "finance-analyst")
    page.click("nav summary:has-text('More')")
    page.click("nav >> text=SQL reports")
    page.wait_for_load_state()
    assert "Finance (8)" in page.inner_text("body")  # the library, folded under its title prefix
    page.click("text=New Query")
    page.wait_for_load_state()
    page.fill("#id_title", "Organisations by country")
    page.click(".cm-content")
    page.keyboard.type(SQL)
    page.click("#save_button")
    page.wait_for_load_state()
    query = Query.objects.get(title="Organisations by country")
    assert query.sql == SQL
    table = page.inner_text("#preview")
    assert "DE" in table and "US" in table
    page.click("#nav-chart-tab")
    page.wait_for_function("window.Chart && Chart.getChart(document.getElementById('report-chart'))")
    page.click("#download_options")
    with page.expect_download() as download:
        page.click(".dropdown-menu >> text=CSV")
    path = download.value.path()
    assert open(path, encoding="utf-8-sig").read().splitlines() == ["country,organisations", "DE,1", "US,1"]
    assert download.value.suggested_filename == "Organisations_by_country.csv"
    page.goto(f"{live_server.url}/reports/sql/schedules/")
    page.select_option("#id_query", str(query.pk))
    page.select_option("#id_frequency", "weekly")
    page.fill("#id_recipients", "cfo@example.com, not-an-address")
    page.click("button:has-text('Schedule')")
    page.wait_for_load_state()
    assert "not-an-address is not an email address" in page.inner_text("main")
    page.fill("#id_recipients", "cfo@example.com")
    page.click("button:has-text('Schedule')")
    page.wait_for_load_state()
    assert "will be emailed weekly" in page.inner_text(".flashes")
    assert ReportSchedule.objects.get(query=query).recipients == ["cfo@example.com"]


def test_a_refusal_reads_in_the_page_and_the_pages_fit_a_phone(browser, live_server, people, reports_db):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server.url, "finance-analyst")
    page.goto(f"{live_server.url}/reports/sql/play/")
    page.click(".cm-content")
    page.keyboard.type("SELECT username, password FROM auth_user")
    page.click("#refresh_play_button")
    page.wait_for_load_state()
    assert "The table auth_user is not open to reports" in page.inner_text("body")
    for path in ("/reports/sql/", "/reports/sql/schedules/", "/reports/sql/play/"):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"{path} scrolls sideways on a phone"


def test_support_runs_a_library_report_with_a_parameter(browser, live_server, people, reports_db):  # noqa: F811
    from billing.sql_reports.models import LibraryReport

    query = LibraryReport.objects.get(slug="revenue-by-country-currency-plan").query
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server.url, "finance-support")
    page.goto(f"{live_server.url}/reports/sql/{query.pk}/")
    assert page.is_disabled("#id_title")  # read-only for support
    page.fill("#months_param", "6")
    page.click("#refresh_button")
    page.wait_for_load_state()
    assert "params=months%3A6" in page.url
    assert page.locator("#preview").count() == 1
    from accounts.models import AuditLog

    run = AuditLog.objects.filter(action="sql_report.run").latest("pk")
    assert run.actor == people.support and run.data["params"] == {"months": "6"}


def test_the_chart_shows_one_currency_at_a_time_in_major_units(browser, live_server, people, reports_db):  # noqa: F811
    from billing.sql_reports.library import ensure_connection

    query = Query.objects.create(
        title="Revenue by country",
        sql="SELECT 'US' AS country, 'usd' AS currency, 3 AS invoices, 2625 AS revenue_minor "
        "UNION ALL SELECT 'CA', 'usd', 1, 875 UNION ALL SELECT 'JP', 'jpy', 2, 2100",
        database_connection=ensure_connection(),
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server.url, "finance-analyst")
    page.goto(f"{live_server.url}/reports/sql/{query.pk}/")  # a saved query runs as its page opens
    assert page.locator("#nav-chart-tab").count() == 1, page.inner_text("body")
    page.click("#nav-chart-tab")
    drawn = "Chart.getChart(document.getElementById('report-chart'))"
    page.wait_for_function(f"window.Chart && {drawn}")
    assert page.eval_on_selector_all("#report-chart-currency option", "o => o.map(e => e.value)") == ["USD", "JPY"]
    assert page.evaluate(f"{drawn}.data.datasets.map(d => [d.label, d.data, d.yAxisID])") == [
        ["invoices", [3, 1], "y1"],
        ["revenue (USD)", [26.25, 8.75], "y"],
    ]
    page.select_option("#report-chart-currency", "JPY")
    page.wait_for_function(f"{drawn}.data.labels[0] === 'JP'")
    assert page.evaluate(f"{drawn}.data.datasets[1].data") == [2100]
