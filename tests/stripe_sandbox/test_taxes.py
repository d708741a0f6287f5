"""Taxes in the sandbox: tax rates on subscriptions and invoices, Stripe Tax registrations and the
`automatic_tax` emulation from the same rate table as the portal, credit notes' share of tax."""

from decimal import Decimal

import pytest
import stripe

from stripe_sandbox.engine.tax import RATES
from taxes.rates import RATES as PORTAL_RATES
from tests.stripe_sandbox.conftest import catalog, customer_with_card


def test_the_sandbox_table_is_the_portal_table():
    assert {code: (r.tax_type, r.percentage) for code, r in PORTAL_RATES.items()} == {
        code: (tax_type, Decimal(pct)) for code, (tax_type, pct) in RATES.items()
    }


def test_default_tax_rates_tax_every_invoice_of_a_subscription(sb):
    price = catalog(sb, "eur", 875)
    customer, _ = customer_with_card(sb, address={"country": "DE", "line1": "1 Main St"})
    rate = sb.v1.tax_rates.create(
        {"display_name": "VAT", "percentage": "19", "inclusive": False, "country": "DE", "jurisdiction": "DE"}
    )
    sub = sb.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id, "quantity": 3}], "default_tax_rates": [rate.id]}
    )
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (2625, 3124, 3124)  # 498.75 -> 499
    tax = invoice.total_taxes[0]
    assert (tax.amount, tax.taxable_amount, tax.tax_behavior, tax.type) == (499, 2625, "exclusive", "tax_rate_details")
    assert tax.tax_rate_details.tax_rate == rate.id and tax.taxability_reason == "standard_rated"
    assert invoice.lines.data[0].taxes[0].amount == 499
    # The rate is archived (a rate change): new subscriptions cannot use it, this one keeps it.
    sb.v1.tax_rates.update(rate.id, {"active": False})
    with pytest.raises(stripe.InvalidRequestError, match="archived"):
        sb.v1.subscriptions.create(
            {"customer": customer.id, "items": [{"price": price.id, "quantity": 1}], "default_tax_rates": [rate.id]}
        )
    note = sb.v1.credit_notes.create({"invoice": invoice.id, "amount": 3124})
    assert note.total_taxes[0].amount == 499 and note.total_excluding_tax == 2625


def test_inclusive_rates_are_part_of_the_total_in_jpy(sb):
    price = catalog(sb, "jpy", 1055)
    customer, _ = customer_with_card(sb, address={"country": "JP", "line1": "1 Chome"})
    rate = sb.v1.tax_rates.create({"display_name": "JCT", "percentage": "10", "inclusive": True, "country": "JP"})
    sub = sb.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id, "quantity": 1}], "default_tax_rates": [rate.id]}
    )
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.total, invoice.total_taxes[0].amount, invoice.total_excluding_tax) == (1055, 96, 959)


def test_registrations_drive_automatic_tax(sb):
    now_ish = "now"
    reg = sb.v1.tax.registrations.create(
        {"country": "US", "country_options": {"us": {"type": "state_sales_tax", "state": "CA"}}, "active_from": now_ish}
    )
    assert reg.status == "active" and reg.country_options["us"]["state"] == "CA"
    with pytest.raises(stripe.InvalidRequestError, match="already covers"):
        sb.v1.tax.registrations.create(
            {
                "country": "US",
                "country_options": {"us": {"type": "state_sales_tax", "state": "CA"}},
                "active_from": "now",
            }
        )
    sb.v1.tax.registrations.create(
        {"country": "DE", "country_options": {"de": {"type": "oss_union"}}, "active_from": "now"}
    )
    price = catalog(sb, "usd", 10000)
    results = {}
    for key, address, exempt in [
        ("ca", {"country": "US", "state": "CA"}, "none"),
        ("tx", {"country": "US", "state": "TX"}, "none"),
        ("fr", {"country": "FR"}, "none"),
        ("fr_b2b", {"country": "FR"}, "reverse"),
        ("exempt", {"country": "US", "state": "CA"}, "exempt"),
    ]:
        customer, _ = customer_with_card(sb, address={**address, "line1": "1 Main St"}, tax_exempt=exempt)
        sub = sb.v1.subscriptions.create(
            {"customer": customer.id, "items": [{"price": price.id, "quantity": 1}], "automatic_tax": {"enabled": True}}
        )
        invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
        assert invoice.automatic_tax.enabled
        results[key] = (invoice.total - invoice.subtotal, [t.taxability_reason for t in invoice.total_taxes])
    assert results["ca"] == (725, ["standard_rated"])
    assert results["tx"] == (0, [])
    assert results["fr"] == (2000, ["standard_rated"])
    assert results["fr_b2b"] == (0, []) and results["exempt"] == (0, [])
    ended = sb.v1.tax.registrations.update(reg.id, {"expires_at": "now"})
    assert ended.status == "expired"


def test_tax_settings_make_automatic_tax_inclusive(sb):
    assert sb.v1.tax.settings.retrieve().status == "pending"
    settings = sb.v1.tax.settings.update(
        {
            "defaults": {"tax_behavior": "inclusive", "tax_code": "txcd_10103001"},
            "head_office": {"address": {"country": "GB"}},
        }
    )
    assert settings.status == "active" and settings.defaults.tax_behavior == "inclusive"
    with pytest.raises(stripe.InvalidRequestError, match="tax code"):
        sb.v1.tax.settings.update({"defaults": {"tax_code": "software"}})
    sb.v1.tax.registrations.create(
        {"country": "GB", "country_options": {"gb": {"type": "standard"}}, "active_from": "now"}
    )
    price = catalog(sb, "gbp", 1200)
    customer, _ = customer_with_card(sb, address={"country": "GB", "line1": "1 High St"})
    sub = sb.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id, "quantity": 1}], "automatic_tax": {"enabled": True}}
    )
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.total, invoice.total_taxes[0].amount, invoice.total_taxes[0].tax_behavior) == (
        1200,
        200,
        "inclusive",
    )
