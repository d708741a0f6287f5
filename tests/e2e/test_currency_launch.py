"""A currency launch in the browser: a second admin approves, starts and watches the bar move."""

import pytest

from billing.currencies import jobs, launches
from billing.currencies.models import CountryCurrency, Launch, LaunchStatus
from tests.billing.currencies.conftest import add_rates, admins, build_catalog  # noqa: F401  (admins: the fixture)
from tests.e2e.test_browser import browser, log_in  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def progress_text(page) -> str:
    return page.inner_text("#progress")


def test_second_admin_approves_starts_and_watches_the_launch_go_live(browser, live_server, sandbox, admins):  # noqa: F811
    add_rates()
    CountryCurrency.objects.create(country="JP", currency="usd")
    build_catalog()
    launch = launches.launch_create(currency="jpy", countries=["JP"], actor=admins.admin, charm_ending="0")
    launches.launch_preview(launch=launch, actor=admins.admin)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmation of each step
    log_in(page, live_server.url, "finance-admin-2")
    page.goto(f"{live_server.url}/currencies/launches/{launch.pk}/")
    assert "Next: review and approve" in page.inner_text("main")
    with page.expect_navigation():
        page.click("button:has-text('Approve the price book')")
    assert "Approved: the price book is frozen" in page.inner_text("main")
    with page.expect_navigation():
        page.click("button:has-text('Start the launch')")
    assert Launch.objects.get(pk=launch.pk).status == LaunchStatus.running
    assert "0 of 4 prices created" in progress_text(page)

    # The job runs a price at a time (here, in the test; on the workers in production) and the bar
    # follows without a reload; when it is done the page shows the launch live.
    for done in range(1, 5):
        jobs.work(launch.pk, size=1)
        page.wait_for_function(
            f"document.querySelector('#progress') && "
            f"document.querySelector('#progress').innerText.includes('{done} of 4 prices created')",
            timeout=10_000,
        )
    jobs.work(launch.pk)  # nothing left: it goes live
    page.wait_for_function("document.querySelector('h2').innerText.includes('Live')", timeout=10_000)
    assert "New organisations in JP are billed in JPY" in page.inner_text("main")
    assert Launch.objects.get(pk=launch.pk).status == LaunchStatus.live
