"""The acceptance report: success rate by country × currency × method, 30 days either side of go-live."""

import datetime as dt

import pytest
from django.urls import reverse

from billing.currencies import selectors
from billing.currencies.models import Launch, LaunchStatus
from billing.reports.models import PaymentFact
from tests.pages import login

pytestmark = pytest.mark.django_db
LIVE = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def fact(n: int, days: float, kind: str, *, country="CA", currency="usd", method="card"):
    PaymentFact.objects.create(
        source_id=f"ch_{n}",
        kind=kind,
        amount=1000,
        currency=currency,
        occurred_at=LIVE + dt.timedelta(days=days),
        method_type=method,
        country=country,
    )


@pytest.fixture
def launch(people):
    launch = Launch.objects.create(
        currency="cad", source_currency="usd", countries=["CA"], status=LaunchStatus.live, created_by=people.admin
    )
    Launch.objects.filter(pk=launch.pk).update(went_live_at=LIVE)
    launch.refresh_from_db()
    n = iter(range(1000))
    for days, kind in [(-20, "succeeded"), (-15, "failed"), (-12, "failed"), (-3, "succeeded"), (-45, "failed")]:
        fact(next(n), days, kind)  # the -45 day failure is outside the window
    for days, kind in [(5, "succeeded"), (9, "succeeded"), (20, "failed"), (40, "failed")]:
        fact(next(n), days, kind)  # existing USD organisations renew; day 40 is outside
    for days in (3, 8, 15, 22):
        fact(next(n), days, "succeeded", currency="cad", method="acss_debit")
    fact(next(n), 11, "succeeded", currency="cad")
    fact(next(n), 12, "failed", country="US")  # another country
    fact(next(n), 13, "refunded", currency="cad")  # not an attempt
    return launch


def test_success_rates_before_and_after_by_country_currency_and_method(launch):
    report = selectors.acceptance(launch, now=LIVE + dt.timedelta(days=60))
    rows = {(r.country, r.currency, r.method): r for r in report.rows}
    assert list(rows) == [("CA", "cad", "acss_debit"), ("CA", "cad", "card"), ("CA", "usd", "card")]
    usd = rows[("CA", "usd", "card")]
    assert (usd.before.succeeded, usd.before.failed, str(usd.before.rate)) == (2, 2, "50.0")
    assert (usd.after.succeeded, usd.after.failed, str(usd.after.rate)) == (2, 1, "66.7")
    assert str(usd.change) == "16.7"
    assert (
        rows[("CA", "cad", "acss_debit")].before.rate is None
        and str(rows[("CA", "cad", "acss_debit")].after.rate) == "100.0"
    )
    assert (report.total.before.attempts, report.total.after.attempts) == (4, 8)
    assert str(report.total.after.rate) == "87.5" and str(report.total.change) == "37.5"


def test_a_launch_live_for_ten_days_compares_ten_days(launch):
    report = selectors.acceptance(launch, now=LIVE + dt.timedelta(days=10))
    assert report.after_days == 10 and report.total.after.attempts == 4


def test_the_report_page_draws_a_chart_that_is_a_table_first(client, people, launch):
    login(client, people.analyst)
    page = client.get(reverse("currencies:acceptance")).content.decode()
    assert "Payment success rate" in page and "CA · CAD · Pre-authorised debit" in page
    assert "<table" in page and "{# " not in page
    login(client, people.owner)
    assert client.get(reverse("currencies:acceptance")).status_code == 403
