"""A billing admin in a real browser, on a desktop (1280 px) and a phone (390 px): payment methods
added through the Stripe.js stand-in (a card, a SEPA mandate, a declined card), and monthly →
annual with Stripe's preview, confirmed, and the invoice Stripe issued."""

import re

import pytest

from tests import billing_world as world
from tests.e2e.test_browser import browser, log_in  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIZES = [pytest.param((1280, 900), id="desktop"), pytest.param((390, 844), id="phone")]


@pytest.fixture
def stripe_js(sandbox, settings):
    settings.STRIPE_JS_URL = f"{sandbox}/v3/stripe.js"  # the sandbox of this test run, on its own port
    return sandbox


def no_sideways_scroll(page) -> None:
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), "scrolls sideways"


def add_method(page, base: str, kind: str) -> None:
    page.goto(f"{base}/billing/payment-methods/add/")
    page.check(f"input[name=type][value={kind}]")
    page.click("button:has-text('Continue')")
    page.wait_for_selector("#payment-element input")  # Stripe.js mounted its element


@pytest.mark.parametrize("size", SIZES)
def test_add_a_card_and_a_sepa_mandate_and_see_a_decline(browser, live_server, stripe_js, size):  # noqa: F811
    org = world.organisation("eur", card=None, clock=False, owner_username="owner-eu")
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
    log_in(page, live_server.url, "owner-eu")

    add_method(page, live_server.url, "card")
    page.fill("#payment-element [name=number]", "4000 0000 0000 0002")  # declines
    page.fill("#payment-element [name=exp]", "12/34")
    page.fill("#payment-element [name=cvc]", "123")
    page.click("#setup-submit")
    page.wait_for_selector("#setup-error:not([hidden])")
    assert "Your card was declined." in page.inner_text("#setup-error")
    no_sideways_scroll(page)

    page.fill("#payment-element [name=number]", "4242 4242 4242 4242")
    page.click("#setup-submit")
    page.wait_for_url("**/billing/payment-methods/")
    assert "Payment method saved." in page.inner_text("main")
    assert "Visa •••• 4242" in page.inner_text("main") and "Default" in page.inner_text("main")

    add_method(page, live_server.url, "sepa_debit")
    assert "authorise Billing Portal Inc." in page.inner_text("[data-mandate]")  # the mandate, before confirming
    page.fill("#payment-element [name=iban]", "DE89 3704 0044 0532 0130 00")
    page.uncheck("#make-default")
    page.click("#setup-submit")
    page.wait_for_url("**/billing/payment-methods/")
    text = page.inner_text("main")
    assert "SEPA DE •••• 3000" in text and re.search(r"Mandate [0-9A-Z]{12} · Active", text)
    no_sideways_scroll(page)
    page.screenshot(path=f"/tmp/selfserve-payment-methods-{size[0]}.png", full_page=True)
    assert org.organisation.customer_requests.count() >= 4


@pytest.mark.parametrize("size", SIZES)
def test_monthly_to_annual_with_the_preview_then_the_invoice(browser, live_server, stripe_js, size):  # noqa: F811
    prices = world.catalog("usd").prices
    org = world.organisation("usd", owner_username="owner-us")
    world.subscribe(org, prices[("pro", "month")], 6)
    world.advance(org, 12 * world.DAY)
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
    log_in(page, live_server.url, "owner-us")
    page.goto(f"{live_server.url}/billing/plan/")
    no_sideways_scroll(page)
    page.check(f"input[name=price][value={prices[('pro', 'year')]}]")  # the live preview follows
    page.wait_for_selector("[data-preview] [data-amount-due]")
    preview = page.inner_text("[data-preview]")
    assert "Monthly → annual" in preview and "Credited for unused time" in preview
    due = page.inner_text("[data-amount-due]")
    assert due.startswith("$") and f"Confirm and pay {due}" in page.inner_text("[data-confirm-button]")
    no_sideways_scroll(page)
    page.screenshot(path=f"/tmp/selfserve-preview-{size[0]}.png", full_page=True)
    page.click("[data-confirm-button]")
    page.wait_for_url("**/billing/changes/*/")
    result = page.inner_text("main")
    assert "Done: your plan is now Pro annual × 6" in result
    invoice = page.inner_text("[data-invoice]")
    assert due in invoice and "Paid" in invoice  # the invoice Stripe issued is what the preview said
    page.click("text=Invoices >> nth=-1")
    page.wait_for_url("**/billing/invoices/")
    assert due in page.inner_text("main")
    no_sideways_scroll(page)


def test_a_declined_upgrade_says_why_and_changes_nothing(browser, live_server, stripe_js):  # noqa: F811
    from billing.stripe import mirror
    from billing.stripe.gateway import gateway

    prices = world.catalog("usd").prices
    org = world.organisation("usd", owner_username="owner-dc")
    world.subscribe(org, prices[("pro", "month")], 3)
    failing = gateway().post(
        "/v1/payment_methods/pm_card_chargeCustomerFail/attach", {"customer": org.customer_id}, idempotency_key="e2e:f"
    )
    mirror.apply_object(
        gateway().post(
            f"/v1/subscriptions/{org.subscription_id}",
            {"default_payment_method": failing["id"]},
            idempotency_key="e2e:d",
        )
    )
    page = browser.new_page()
    log_in(page, live_server.url, "owner-dc")
    page.goto(f"{live_server.url}/billing/plan/")
    page.check(f"input[name=price][value={prices[('business', 'month')]}]")
    page.wait_for_selector("[data-preview] [data-confirm-button]")
    page.click("[data-confirm-button]")
    page.wait_for_url("**/billing/changes/*/")
    assert "Nothing changed." in page.inner_text("[role=alert]") and "declined" in page.inner_text("[role=alert]")
    page.goto(f"{live_server.url}/billing/plan/")
    assert "Pro · monthly" in page.inner_text("main")
