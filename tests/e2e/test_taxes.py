"""A finance admin registers a jurisdiction, switches to Stripe Tax and runs the tax report in the
browser; the tax pages read on a phone."""

import datetime as dt

import pytest

from billing.stripe.gateway import gateway
from taxes.models import Registration, TaxSettings
from tests.e2e.test_browser import browser, log_in  # noqa: F401  (the fixture)
from tests.pages import mirror_customer
from tests.taxes.test_report import books, mirror_invoice  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_registers_switches_mode_and_runs_the_report(browser, live_server, people, sandbox, books):  # noqa: F811
    mirror_invoice(1, customer="cus_tax", jurisdiction="DE", day=dt.date(2026, 10, 5), status="paid", lines=[10000])
    mirror_invoice(2, customer="cus_tax", jurisdiction="JP", day=dt.date(2026, 11, 5), status="paid", lines=[1055])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server.url, "finance-admin")
    page.goto(f"{live_server.url}/")
    page.click("nav >> text=Taxes")
    page.wait_for_load_state()
    assert "Rate table" in page.inner_text("main")

    # Stripe Tax, established in Germany.
    page.check("input[name=mode][value=stripe_tax]")
    page.select_option("#mode select[name=home_country]", "DE")
    page.click("#mode button[type=submit]")
    page.wait_for_load_state()
    assert "Saved" in page.inner_text(".flashes")
    assert TaxSettings.current().mode == "stripe_tax"

    # A registration upside down is refused on the page; a good one reaches Stripe Tax.
    page.select_option("#register select[name=country]", "GB")
    page.select_option("#register select[name=tax_type]", "vat")
    page.fill("#register input[name=effective_from]", "2026-06-01")
    page.fill("#register input[name=effective_to]", "2026-01-01")
    page.click("#register button[type=submit]")
    page.wait_for_load_state()
    assert "end after it starts" in page.inner_text(".flashes")
    assert not Registration.objects.exists()
    page.select_option("#register select[name=country]", "GB")
    page.fill("#register input[name=effective_from]", "2026-01-01")
    page.fill("#register input[name=effective_to]", "")
    page.fill("#register input[name=number]", "GB980780684")
    page.click("#register button[type=submit]")
    page.wait_for_load_state()
    assert "Registered GB" in page.inner_text(".flashes")
    reg = Registration.objects.get()
    assert reg.stripe_id and gateway().get(f"/v1/tax/registrations/{reg.stripe_id}")["country"] == "GB"
    assert reg.stripe_id in page.inner_text("#registrations")

    # The report: by jurisdiction, in each currency and in USD, and its CSV.
    page.click("text=Tax report & thresholds")
    page.wait_for_load_state()
    page.fill("input[name=start]", "2026-10-01")
    page.fill("input[name=end]", "2026-11-30")
    page.click("button:has-text('Run report')")
    page.wait_for_load_state()
    main = page.inner_text("main")
    assert "DE" in main and "JP" in main
    assert page.inner_text("[data-total=eur]") == "€19.00" and page.inner_text("[data-total=jpy]") == "¥106"
    with page.expect_download() as download:
        page.click("a:has-text('CSV')")
    assert download.value.suggested_filename == "tax-report-20261001-20261130.csv"


def test_the_tax_pages_read_on_a_phone(browser, live_server, people, books):  # noqa: F811
    mirror_invoice(1, customer="cus_tax", jurisdiction="DE", day=dt.date(2026, 10, 5), status="paid", lines=[10000])
    mirror_customer("cus_acme", subscriptions=0, invoices=0)  # Acme's page, with its tax treatment panel
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server.url, "finance-admin")
    for path in ("/taxes/", "/taxes/report/?start=2026-10-01&end=2026-11-30", "/customers/cus_acme/"):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{path} scrolls sideways on a phone"
    page.click("summary:has-text('Edit tax status')")
    assert page.is_visible("#tax-treatment select[name=status]")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the tax status form scrolls sideways on a phone"
