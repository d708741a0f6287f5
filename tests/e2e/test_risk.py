"""A finance admin works the review queue in the browser; the queue reads on a phone."""

import pytest

from billing.risk.models import ReviewCase
from tests.billing.risk.conftest import control, paying  # noqa: F401  (the fixture)
from tests.billing.risk.payloads import next_second, pull_events
from tests.e2e.test_browser import browser, log_in  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_approves_a_review_with_the_customer_beside_it(browser, live_server, people, paying):  # noqa: F811
    org, charge_id = paying(country="DE", token="pm_card_br", name="Hooli")
    next_second()
    review = control(f"/_sandbox/charges/{charge_id}/review", {"risk_score": 78, "ip_country": "BR"})
    pull_events()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server.url, "finance-admin")
    page.goto(f"{live_server.url}/risk/reviews/")
    assert "Hooli" in page.inner_text("#results")
    page.click("#results a:has-text('Hooli')")
    page.wait_for_load_state()
    body = page.inner_text("main").lower()  # headers are shown in capitals
    assert "who this is to us" in body and "hooli" in body and "card issued in" in body
    page.fill("#reason", "Known team, card abroad on a trip")
    page.click("button[value=approve]")
    page.wait_for_load_state()
    assert "Approve: done" in page.inner_text(".flashes")
    assert not ReviewCase.objects.get(pk=review["id"]).open


def test_the_queue_reads_on_a_phone(browser, live_server, people, paying):  # noqa: F811
    org, charge_id = paying(name="Pied Piper")
    next_second()
    control(f"/_sandbox/charges/{charge_id}/review", {"risk_score": 70})
    pull_events()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server.url, "finance-support")
    pages = ("/risk/reviews/", "/risk/disputes/", "/risk/warnings/", "/risk/blocklist/", "/risk/disputes/analytics/")
    for path in pages:
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{path} scrolls sideways on a phone"
    page.goto(f"{live_server.url}/risk/reviews/")
    assert "Pied Piper" in page.inner_text("main")
