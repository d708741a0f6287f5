"""Tax services against the sandbox: registrations in both modes, rate changes, customers' status on
Stripe and their subscriptions' taxes — and bad input refused with nothing sent to Stripe."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from billing.stripe.gateway import gateway
from taxes import services
from taxes.models import CustomerTaxStatus, PortalTaxRate, Registration, TaxMode, TaxSettings
from taxes.tax_ids import TaxIdError
from tests import billing_world as world

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 1, 1)


def set_mode(mode, actor=None, home="US"):
    services.tax_settings_update(mode=mode, home_country=home, actor=actor)


def test_stripe_tax_mode_registers_at_stripe_and_refuses_overlaps(sandbox, people, stripe_calls):
    set_mode(TaxMode.stripe_tax, people.admin)
    reg = services.registration_create(
        country="US", state="CA", tax_type="sales_tax", effective_from=TODAY, actor=people.admin
    )
    answer = gateway().get(f"/v1/tax/registrations/{reg.stripe_id}")
    assert answer["country_options"]["us"] == {"type": "state_sales_tax", "state": "CA"}
    assert answer["status"] == "active"
    stripe_calls.clear()
    with pytest.raises(services.TaxError, match="overlaps"):
        services.registration_create(
            country="US", state="CA", tax_type="sales_tax", effective_from=dt.date(2026, 6, 1), actor=people.admin
        )
    with pytest.raises(services.TaxError, match="state"):
        services.registration_create(country="US", tax_type="sales_tax", effective_from=TODAY, actor=people.admin)
    with pytest.raises(services.TaxError, match="end after it starts"):
        services.registration_create(
            country="GB", tax_type="vat", effective_from=TODAY, effective_to=TODAY, actor=people.admin
        )
    with pytest.raises(services.TaxError, match="One-Stop Shop"):
        services.registration_create(
            country="GB", tax_type="vat", scheme="oss_union", effective_from=TODAY, actor=people.admin
        )
    assert stripe_calls == [] and Registration.objects.count() == 1
    services.registration_end(registration=reg, effective_to=timezone.now().date(), actor=people.admin)
    assert gateway().get(f"/v1/tax/registrations/{reg.stripe_id}")["status"] == "expired"
    # After it ended, a new registration for the same state is fine.
    services.registration_create(
        country="US", state="CA", tax_type="sales_tax", effective_from=timezone.now().date(), actor=people.admin
    )
    assert AuditLog.objects.filter(action__startswith="tax.registration").count() == 3


def test_portal_rates_mode_makes_rates_and_a_change_archives_the_old_one(sandbox, people, stripe_calls):
    set_mode(TaxMode.portal_rates, people.admin, home="DE")
    services.registration_create(country="DE", tax_type="vat", effective_from=TODAY, actor=people.admin)
    old = PortalTaxRate.objects.get(jurisdiction="DE", active=True)
    assert old.percentage == 19 and gateway().get(f"/v1/tax_rates/{old.stripe_id}")["percentage"] == 19
    stripe_calls.clear()
    for bad, why in [("101", "between 0 and 100"), ("-1", "between 0 and 100"), ("abc", "number"), ("19", "already")]:
        with pytest.raises(services.TaxError, match=why):
            services.tax_rate_change(jurisdiction="DE", percentage=bad, source="BGBl", actor=people.admin)
    with pytest.raises(services.TaxError, match="where the new rate comes from"):
        services.tax_rate_change(jurisdiction="DE", percentage="20", source=" ", actor=people.admin)
    assert stripe_calls == []
    new = services.tax_rate_change(jurisdiction="DE", percentage="20", source="BGBl 2027", actor=people.admin)
    old.refresh_from_db()
    assert not old.active and old.archived_at and gateway().get(f"/v1/tax_rates/{old.stripe_id}")["active"] is False
    assert new.active and gateway().get(f"/v1/tax_rates/{new.stripe_id}")["percentage"] == 20


def test_customer_status_reaches_stripe_and_the_invoices_carry_the_tax(
    sandbox, people, stripe_calls, settings, django_capture_on_commit_callbacks
):
    set_mode(TaxMode.portal_rates, people.admin, home="DE")
    services.registration_create(
        country="DE", tax_type="vat", scheme="oss_union", effective_from=TODAY, actor=people.admin
    )
    prices = world.catalog("eur").prices
    org = world.organisation("eur")
    org.organisation.country = "FR"
    org.organisation.save()
    world.subscribe(org, prices[("pro", "month")], 2)
    stripe_calls.clear()
    bad = [
        ({"status": "exempt"}, "certificate"),
        ({"status": "exempt", "certificate_ref": "EX-1"}, "expires"),
        ({"status": "exempt", "certificate_ref": "EX-1", "certificate_expires": dt.date(2020, 1, 1)}, "expired"),
        ({"status": "reverse_charge"}, "tax ID"),
        ({"status": "reverse_charge", "customer_type": "consumer"}, "business"),
    ]
    for extra, why in bad:
        with pytest.raises(services.TaxError, match=why):
            services.customer_tax_status_set(
                organisation=org.organisation, **{"customer_type": "business", **extra}, actor=people.admin
            )
    with pytest.raises(TaxIdError, match="check digit"):
        services.customer_tax_status_set(
            organisation=org.organisation,
            status="taxable",
            customer_type="business",
            tax_id_type="eu_vat",
            tax_id_value="FR40303265046",
            actor=people.admin,
        )
    assert stripe_calls == [] and not CustomerTaxStatus.objects.exists()

    # A consumer in France, seller in the OSS: French VAT on the subscription and its next invoice.
    services.customer_tax_status_set(
        organisation=org.organisation, status="taxable", customer_type="consumer", actor=people.admin
    )
    sub = gateway().get(f"/v1/subscriptions/{org.subscription_id}")
    fr = PortalTaxRate.objects.get(jurisdiction="FR", active=True)
    assert [r["id"] for r in sub["default_tax_rates"]] == [fr.stripe_id]
    world.advance(org, 32 * world.DAY)
    latest = gateway().get("/v1/invoices", customer=org.customer_id, limit=1)["data"][0]
    assert latest["total_taxes"][0]["tax_rate_details"]["tax_rate"] == fr.stripe_id
    assert latest["total_taxes"][0]["amount"] == round(latest["subtotal"] * 0.20)

    # A business with a valid French VAT ID: reverse charge, with the legal note, no tax rates.
    services.customer_tax_status_set(
        organisation=org.organisation,
        status="taxable",
        customer_type="business",
        tax_id_type="eu_vat",
        tax_id_value="FR 403 032 650 45",
        actor=people.admin,
    )
    customer = gateway().get(f"/v1/customers/{org.customer_id}")
    assert customer["tax_exempt"] == "reverse"
    assert "Article 196" in customer["invoice_settings"]["custom_fields"][0]["value"]
    assert gateway().get(f"/v1/subscriptions/{org.subscription_id}")["default_tax_rates"] == []
    world.advance(org, 31 * world.DAY)
    latest = gateway().get("/v1/invoices", customer=org.customer_id, limit=1)["data"][0]
    assert latest["total_taxes"] == [] and "Reverse charge" in latest["footer"]
    assert CustomerTaxStatus.objects.get().stripe_tax_exempt == "reverse"

    # Stripe Tax mode: every customer is re-applied by a task: automatic tax on, default rates off.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    people.acme.__class__.objects.exclude(pk=org.organisation.pk).update(stripe_customer_id=None)  # not at Stripe
    with django_capture_on_commit_callbacks(execute=True):
        set_mode(TaxMode.stripe_tax, people.admin, home="DE")
    sub = gateway().get(f"/v1/subscriptions/{org.subscription_id}")
    assert sub["automatic_tax"]["enabled"] is True and sub["default_tax_rates"] == []
    assert TaxSettings.current().mode == TaxMode.stripe_tax
    stripe_settings = gateway().get("/v1/tax/settings")
    assert stripe_settings["head_office"]["address"]["country"] == "DE"
    assert stripe_settings["defaults"] == {
        "tax_behavior": "exclusive",
        "tax_code": "txcd_10103001",
        "provider": "stripe",
    }
    with pytest.raises(services.TaxError, match="txcd_"):
        services.tax_settings_update(mode="stripe_tax", home_country="DE", tax_code="saas", actor=people.admin)


def test_inclusive_prices_get_inclusive_portal_rates(sandbox, people):
    services.tax_settings_update(mode="portal_rates", home_country="GB", tax_behavior="inclusive", actor=people.admin)
    services.registration_create(country="GB", tax_type="vat", effective_from=TODAY, actor=people.admin)
    rate = PortalTaxRate.objects.get(jurisdiction="GB")
    assert rate.inclusive and gateway().get(f"/v1/tax_rates/{rate.stripe_id}")["inclusive"] is True
