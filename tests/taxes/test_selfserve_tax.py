"""The self-serve proration preview shows the tax Stripe's preview invoice carries (`total_taxes`)."""

import datetime as dt

import pytest
from django.urls import reverse

from taxes import services
from taxes.models import TaxMode
from tests import billing_world as world

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("mode", [TaxMode.portal_rates, TaxMode.stripe_tax])
def test_the_preview_shows_the_tax_line(client, sandbox, people, mode):
    services.tax_settings_update(mode=mode, home_country="DE", actor=people.admin)
    prices = world.catalog("eur", max_quantity=50).prices
    services.registration_create(country="DE", tax_type="vat", effective_from=dt.date(2026, 1, 1), actor=people.admin)
    org = world.organisation("eur", owner_username="boss")
    world.subscribe(org, prices[("pro", "month")], 2)
    services.customer_tax_status_set(
        organisation=org.organisation, status="taxable", customer_type="business", actor=people.admin
    )
    world.advance(org, 31 * world.DAY)  # a renewal, taxed: its tax rate reaches the mirror by its event
    world.apply_stripe_events()
    world.advance(org, 10 * world.DAY)
    client.force_login(org.owner)
    url = reverse("selfserve:change_preview", args=[org.subscription_id])
    text = client.get(url, {"price": prices[("business", "month")], "quantity": 2}, HTTP_HX_REQUEST="true")
    text = text.content.decode()
    assert "VAT 19% (DE)" in text, text
    assert "tax included: €5.32" in text  # the next invoice: 2 × €14.00 Business+ at 19 %
