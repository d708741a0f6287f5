"""The pages as people use them, in headless Chromium (Debian's package) driven by Playwright."""

import shutil

import pytest

from tests.pages import mirror_customer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop on this thread; the test's own database calls are
    # still synchronous, so Django's guard against ORM calls from async code does not apply.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not shutil.which("chromium"):
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()
        # ORM calls made while Playwright's loop runs get connections of their own (asgiref's
        # context-local storage); close them here, or they outlive the test database.
        from django.db import connections

        connections.close_all()


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_finance_finds_a_customer_as_they_type(browser, live_server, people):
    mirror_customer("cus_acme")
    mirror_customer("cus_globex")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server.url, "finance-analyst")
    assert page.url.endswith("/revenue/")  # the finance landing page
    page.click("nav >> text=Customers")
    page.wait_for_load_state()
    assert page.locator("tbody tr").count() == 2
    page.fill("input[name=q]", "globex")
    page.wait_for_function("document.querySelectorAll('#results tbody tr').length === 1")
    assert "cus_globex" in page.inner_text("#results")
    assert "q=globex" in page.url  # the search is in the address bar, so it can be shared
    page.click("#results tbody a >> nth=0")
    page.wait_for_load_state()
    assert "Globex" in page.inner_text("h1")
    assert "Pro monthly × 5" in page.inner_text("body")


def test_customer_sees_their_plan_on_a_phone(browser, live_server, people):
    mirror_customer("cus_acme", invoices=2)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server.url, "owner")
    assert page.url.endswith("/billing/")
    body = page.inner_text("main")
    assert "Pro monthly" in body and "5 seats" in body and "$43.75" in body
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the billing page scrolls sideways on a phone"


def test_a_wrong_password_is_explained(browser, live_server, people):
    page = browser.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert "correct username and password" in page.inner_text("[role=alert]")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_3000_character_search_keeps_the_page_in_its_width(browser, live_server, people, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    log_in(page, live_server.url, "finance-analyst")
    page.goto(f"{live_server.url}/customers/?q={'a' * 3000}")
    assert "at most 200 characters" in page.inner_text("body")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    page.goto(f"{live_server.url}/customers/?q={'b' * 200}")
    assert "No customers match" in page.inner_text("#results")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert len(page.input_value("input[name=q]")) == 200


def within_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    return locator.is_visible() and box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def test_invoice_links_and_amounts_stay_on_a_phone(browser, live_server, people, tmp_path):
    from billing.stripe import mirror
    from tests import stripe_payloads as sp

    mirror_customer("cus_acme", invoices=2)
    pdf = {
        **sp.invoice("in_with_pdf", status="paid", subscription_id="sub_cus_acme_0"),
        "invoice_pdf": "http://127.0.0.1/invoices/in_with_pdf/pdf",
    }
    mirror.apply_event(sp.event(pdf, "invoice.paid", created=1_760_000_000))
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    log_in(page, live_server.url, "owner")
    page.screenshot(path=str(tmp_path / "billing-390.png"), full_page=True)
    rows = page.locator("table.stack tbody tr")
    assert rows.count() == 3
    for n in range(3):
        view = rows.nth(n).get_by_role("link", name="View")
        assert within_viewport(page, view), f"row {n}: the View link is off screen"
        paid = rows.nth(n).locator("td[data-label=Paid]")
        assert within_viewport(page, paid) and "Paid" in paid.evaluate("e => getComputedStyle(e, '::before').content")
    assert within_viewport(page, page.get_by_role("link", name="PDF"))
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_finance_lists_keep_every_column_on_a_phone(browser, live_server, people):
    import datetime as dt

    from billing.stripe.models import StripeEvent
    from tests import stripe_payloads as sp

    mirror_customer("cus_acme")
    evt = sp.event(sp.customer("cus_phone"), "customer.created")
    StripeEvent.objects.create(
        id=evt["id"], type=evt["type"], created=dt.datetime.now(dt.UTC), payload=evt, object_id="cus_phone", attempts=3
    )
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    log_in(page, live_server.url, "finance-analyst")
    page.goto(f"{live_server.url}/customers/")
    assert within_viewport(page, page.locator("#results td[data-label=Since]").first)
    page.goto(f"{live_server.url}/events/")
    assert within_viewport(page, page.locator("td[data-label=Created]").first)
    assert page.locator("td[data-label=Attempts]").first.inner_text() == "3"
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
