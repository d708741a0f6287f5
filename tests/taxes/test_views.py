"""The Taxes pages × who asks, and bad input answered on the page with nothing sent to Stripe."""

import datetime as dt

import pytest
from django.urls import reverse

from taxes.models import CustomerTaxStatus, PortalTaxRate, Registration, TaxSettings
from tests.pages import login, mirror_customer

pytestmark = pytest.mark.django_db

READ = {None: 302, "owner": 403, "outsider": 403, "support": 200, "analyst": 200, "admin": 200}
WRITE = {None: 302, "owner": 403, "outsider": 403, "support": 403, "analyst": 403, "admin": 302}


def who(people, name):
    return getattr(people, name) if name else None


@pytest.mark.parametrize("name", list(READ))
@pytest.mark.parametrize("page", ["taxes:settings", "taxes:report"])
def test_pages_by_role(client, people, name, page):
    login(client, who(people, name))
    response = client.get(reverse(page))
    assert response.status_code == READ[name]
    if READ[name] == 200:
        text = response.content.decode()
        assert "Taxes" in text
        if page == "taxes:settings":
            assert ('action="/taxes/registrations/"' in text) == (name == "admin")


@pytest.mark.parametrize("name", list(WRITE))
def test_writes_by_role(client, people, name, stripe_calls):
    login(client, who(people, name))
    form = {"mode": "portal_rates", "home_country": "DE", "tax_behavior": "inclusive", "tax_code": "txcd_10103001"}
    response = client.post(reverse("taxes:mode"), form)
    assert response.status_code == WRITE[name]
    assert TaxSettings.objects.filter(home_country="DE", tax_behavior="inclusive").exists() == (name == "admin")
    assert stripe_calls == []


def test_csv_export_is_for_those_who_may_export(client, people):
    for name, status in [("support", 403), ("analyst", 200)]:
        login(client, who(people, name))
        response = client.get(reverse("taxes:report"), {"start": "2026-01-01", "end": "2026-12-31", "format": "csv"})
        assert response.status_code == status
    assert response["Content-Type"] == "text/csv" and b"period,jurisdiction" in response.content


def test_bad_input_is_said_on_the_page_and_nothing_reaches_stripe(client, people, stripe_calls):
    mirror_customer("cus_acme", subscriptions=0, invoices=0)
    stripe_calls.clear()
    login(client, people.admin)
    add, rate, status = (
        reverse("taxes:registration_add"),
        reverse("taxes:rate_change"),
        reverse("taxes:customer_status", args=[people.acme.pk]),
    )
    business = {"customer_type": "business"}
    cases = [
        (add, {"country": "US", "tax_type": "sales_tax", "effective_from": "2026-01-01", "scheme": "standard"},
         "state"),
        (add, {"country": "DE", "tax_type": "vat", "scheme": "standard", "effective_from": "2026-05-01",
               "effective_to": "2026-01-01"}, "end after"),
        (add, {"country": "XX", "tax_type": "vat", "effective_from": "2026-01-01"}, "Not registered"),
        (rate, {"jurisdiction": "DE", "percentage": "150", "source": "law"}, "between 0 and 100"),
        (rate, {"jurisdiction": "ZZ", "percentage": "10", "source": "law"}, "not a jurisdiction"),
        (status, {**business, "status": "taxable", "tax_id_type": "eu_vat", "tax_id_value": "DE123456789"},
         "check digit"),
        (status, {**business, "status": "exempt"}, "certificate"),
        (status, {**business, "status": "exempt", "certificate_ref": "X-1", "certificate_expires": "2020-01-01"},
         "expired"),
    ]  # fmt: skip
    for url, data, why in cases:
        response = client.post(url, data, follow=True)
        assert response.status_code == 200, (url, data)
        assert why in response.content.decode(), (why, response.content.decode()[:3000])
    Registration.objects.create(country="GB", tax_type="vat", effective_from=dt.date(2026, 1, 1), stripe_id="")
    response = client.post(
        reverse("taxes:registration_add"),
        {"country": "GB", "tax_type": "vat", "scheme": "standard", "effective_from": "2026-06-01"},
        follow=True,
    )
    assert "overlaps" in response.content.decode()
    report = client.get(reverse("taxes:report"), {"start": "2026-12-31", "end": "2026-01-01"})
    assert report.status_code == 400 and "upside down" in report.content.decode()
    garbage = client.get(reverse("taxes:report"), {"start": "nope", "end": "2026-01-01"})
    assert garbage.status_code == 400 and "Choose the period" in garbage.content.decode()
    assert stripe_calls == []
    assert Registration.objects.count() == 1 and not PortalTaxRate.objects.exists()
    assert not CustomerTaxStatus.objects.exists()


def test_customer_page_shows_the_treatment_panel(client, people):
    mirror_customer("cus_acme", subscriptions=0, invoices=0)
    Registration.objects.create(country="DE", tax_type="vat", effective_from=dt.date(2020, 1, 1))
    TaxSettings.objects.create(pk=1, home_country="DE")
    for name, can_edit in [("support", False), ("admin", True)]:
        login(client, who(people, name))
        text = client.get(reverse("customers:detail", args=["cus_acme"])).content.decode()
        assert "Tax treatment" in text and 'data-treatment="taxed"' in text and "19 %" in text
        assert ("Edit tax status" in text) == can_edit


@pytest.mark.parametrize("name", [None, "owner", "outsider", "support", "analyst"])
def test_no_write_for_those_who_may_not(client, people, name, stripe_calls):
    reg = Registration.objects.create(country="GB", tax_type="vat", effective_from=dt.date(2026, 1, 1))
    login(client, who(people, name))
    writes = [
        (reverse("taxes:registration_add"), {"country": "DE", "tax_type": "vat", "effective_from": "2026-01-01"}),
        (reverse("taxes:registration_end", args=[reg.pk]), {"effective_to": "2026-12-31"}),
        (reverse("taxes:rate_change"), {"jurisdiction": "DE", "percentage": "20", "source": "law"}),
        (reverse("taxes:customer_status", args=[people.acme.pk]), {"status": "taxable", "customer_type": "business"}),
    ]
    for url, data in writes:
        assert client.post(url, data).status_code == WRITE[name], url
        assert client.get(url).status_code in (302, 403, 405)  # never a page, never a change
    reg.refresh_from_db()
    assert reg.effective_to is None and Registration.objects.count() == 1
    assert not PortalTaxRate.objects.exists() and not CustomerTaxStatus.objects.exists() and stripe_calls == []
