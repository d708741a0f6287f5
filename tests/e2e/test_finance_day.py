"""A finance admin's day in headless Chromium: the dashboard, past-due EUR invoices, a retry, the
audit entry it leaves, and a CSV of the list."""

import csv
import io

import pytest

from billing.reports import rebuild
from tests.billing.invoices.conftest import make_invoice
from tests.e2e.test_browser import browser, log_in  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_dashboard_filter_retry_audit_and_export(browser, live_server, people, sandbox, width, tmp_path):  # noqa: F811
    failing, _ = make_invoice(key=f"e2e{width}", currency="eur", card="pm_card_chargeCustomerFail")
    make_invoice(key=f"e2epaid{width}", currency="usd")
    rebuild.rebuild_mrr()
    rebuild.rebuild_payments()
    page = browser.new_page(viewport={"width": width, "height": 900}, accept_downloads=True)
    log_in(page, live_server.url, "finance-admin")
    assert page.url.endswith("/revenue/")
    page.wait_for_selector(".chart-drawn canvas")  # Chart.js drew from the table's numbers
    assert "MRR" in page.inner_text(".kpis") and "$" in page.inner_text(".kpis")
    page.screenshot(path=str(tmp_path / f"dashboard-{width}.png"), full_page=True)

    page.goto(f"{live_server.url}/invoices/")
    if width < 600:  # on a phone the filters fold away until asked for
        page.click(".filter-panel summary")
    page.select_option("select[name=past_due]", "yes")
    page.select_option("select[name=currency]", "eur")
    page.wait_for_function("location.search.includes('currency=eur') && location.search.includes('past_due=yes')")
    page.wait_for_function("document.querySelectorAll('#results tbody tr').length === 1")
    assert "Past due" in page.inner_text("#results")
    with page.expect_download() as download:
        page.click("text=Export CSV")
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    assert rows[0][0] == "invoice_id" and [r[0] for r in rows[1:]] == [failing]

    page.click(f"#results a[href='/invoices/{failing}/']")
    page.click("text=Retry payment")
    page.fill("textarea[name=reason]", "customer says the card works now")
    page.click("button[type=submit]:has-text('Retry payment')")
    page.wait_for_selector(".flash")
    assert "Stripe refused" in page.inner_text(".flashes")  # the card still declines: Stripe's words shown
    history = page.inner_text("main")
    assert "customer says the card works now" in history and "Stripe refused" in history
    page.goto(f"{live_server.url}/audit/?object={failing}")
    assert "invoice.retry.failed" in page.inner_text("#results")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not overflow, "the page scrolls sideways"
