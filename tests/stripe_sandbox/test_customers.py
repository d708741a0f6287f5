"""Customers: listed by email, searched, and their tax IDs."""

import pytest
import stripe


def test_customers_found_by_email_and_search(sb):
    sb.v1.customers.create(
        {
            "email": "a@x.example",
            "preferred_locales": ["de-DE"],
            "tax_exempt": "reverse",
            "address": {"country": "DE", "city": "Berlin"},
        }
    )
    sb.v1.customers.create({"email": "b@x.example"})
    listed = sb.v1.customers.list({"email": "a@x.example"})
    assert len(listed.data) == 1 and listed.data[0].tax_exempt == "reverse"
    assert listed.data[0].address.country == "DE" and listed.data[0].preferred_locales == ["de-DE"]
    searched = sb.v1.customers.search({"query": "email:'b@x.example'"})
    assert [c.email for c in searched.data] == ["b@x.example"]


def test_tax_ids_are_validated(sb):
    customer = sb.v1.customers.create({"email": "t@x.example"})
    tax_id = sb.v1.customers.tax_ids.create(customer.id, {"type": "eu_vat", "value": "DE123456789"})
    assert (tax_id.type, tax_id.value, tax_id.country) == ("eu_vat", "DE123456789", "DE")
    with pytest.raises(stripe.InvalidRequestError) as bad:
        sb.v1.customers.tax_ids.create(customer.id, {"type": "eu_vat", "value": "nope"})
    assert bad.value.code == "tax_id_invalid"


def test_tax_id_verification_arrives_by_event(sb):
    import time

    customer = sb.v1.customers.create({"email": "vat@x.example", "name": "Initech GmbH"})
    tax_id = sb.v1.customers.tax_ids.create(customer.id, {"type": "eu_vat", "value": "DE123456789"})
    assert tax_id.verification.status == "pending"
    deadline = time.monotonic() + 5
    while sb.v1.tax_ids.retrieve(tax_id.id).verification.status == "pending" and time.monotonic() < deadline:
        time.sleep(0.2)
    verified = sb.v1.tax_ids.retrieve(tax_id.id)
    assert verified.verification.status == "verified" and verified.verification.verified_name == "Initech GmbH"
    updates = [e for e in sb.v1.events.list({"type": "customer.tax_id.updated"}).data if e.data.object.id == tax_id.id]
    assert updates and updates[0].data.object.verification.status == "verified"
    other = sb.v1.customers.tax_ids.create(customer.id, {"type": "us_ein", "value": "12-3456789"})
    assert other.verification.status == "unavailable"
