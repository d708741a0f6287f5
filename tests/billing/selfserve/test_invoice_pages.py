"""Invoices and paying them: the past-due banner on every page, pay now with a chosen method (a decline
says why), invoiced customers' due dates and transfer instructions; billing details and tax IDs."""

import time
import uuid

import pytest
from django.urls import reverse
from djstripe.models import Customer, Invoice, TaxId

from accounts.models import AuditLog, MemberRole, Membership
from billing.stripe import mirror
from billing.stripe.gateway import gateway
from tests import billing_world as world

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue(sandbox):
    prices = world.catalog("usd").prices
    org = world.organisation("usd", card="pm_card_chargeCustomerFail", owner_username="late-owner")
    world.subscribe(org, prices[("pro", "month")], 3, trial_days=1)
    world.advance(org, 2 * world.DAY)  # the trial ends and its first invoice is declined
    world.apply_stripe_events()
    return org


def open_invoice(org) -> Invoice:
    return Invoice.mirror.for_customer(org.customer_id).open().get()


def test_the_banner_is_on_every_page_and_pay_now_says_why_it_failed(client, overdue, settings):
    client.force_login(overdue.owner)
    invoice = open_invoice(overdue)
    for name in ("overview", "plan", "payment_methods", "invoices", "billing_details", "members"):
        page = client.get(reverse(f"selfserve:{name}")).content.decode()
        assert "A payment is overdue" in page and reverse("selfserve:invoice_pay", args=[invoice.id]) in page, name
    url = reverse("selfserve:invoice_pay", args=[invoice.id])
    declined = client.post(url, {"payment_method": overdue.payment_method, "request_id": uuid.uuid4()})
    assert declined.status_code == 402 and "Your card was declined." in declined.content.decode()
    assert open_invoice(overdue).stripe_data["status"] == "open"
    visa = gateway().post(
        "/v1/payment_methods/pm_card_visa/attach", {"customer": overdue.customer_id}, idempotency_key="v"
    )
    mirror.apply_object(visa)
    paid = client.post(url, {"payment_method": visa["id"], "request_id": uuid.uuid4()})
    assert paid.status_code == 302
    assert Invoice.objects.get(id=invoice.id).stripe_data["status"] == "paid"
    assert "A payment is overdue" not in client.get(reverse("selfserve:invoices")).content.decode()
    # Someone else's payment method is not a choice.
    assert client.post(url, {"payment_method": "pm_other", "request_id": uuid.uuid4()}).status_code in (400, 404)


def test_members_see_that_a_payment_failed_but_not_the_button(client, overdue):
    from django.contrib.auth import get_user_model

    member = get_user_model().objects.create_user(username="m", email="m@example.com", password="x")
    Membership.objects.create(user=member, organisation=overdue.organisation, role=MemberRole.member)
    client.force_login(member)
    page = client.get(reverse("selfserve:overview")).content.decode()
    assert "last payment did not go through" in page and "Pay now" not in page


def test_invoiced_customers_see_due_dates_and_transfer_instructions(client, sandbox, settings):
    prices = world.catalog("usd").prices
    org = world.organisation("usd", card=None, clock=False, owner_username="ent-owner")
    world.subscribe(org, prices[("business", "year")], 40, send_invoice_days=30)
    world.apply_stripe_events()
    client.force_login(org.owner)
    page = client.get(reverse("selfserve:invoices")).content.decode()
    assert settings.BANK_TRANSFER_INSTRUCTIONS in page and "Pay now" not in page
    invoice = Invoice.mirror.for_customer(org.customer_id).get()
    due = time.strftime("%-d %b %Y", time.gmtime(invoice.stripe_data["due_date"]))
    assert due in page


def test_invoices_page_queries_do_not_grow(client, overdue, django_assert_max_num_queries):
    client.force_login(overdue.owner)
    with django_assert_max_num_queries(30) as one:
        client.get(reverse("selfserve:invoices"))
    world.advance(overdue, 95 * world.DAY)
    world.apply_stripe_events()
    assert Invoice.objects.count() >= 3
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(reverse("selfserve:invoices"))


def test_billing_details_are_saved_at_stripe(client, sandbox):
    org = world.organisation("eur", clock=False, owner_username="det-owner")
    client.force_login(org.owner)
    form = {"name": "Org Eins GmbH", "email": "AP@Org.example", "extra_emails": "cfo@org.example, ap@org.example",
            "line1": "Unter den Linden 1", "line2": "", "postal_code": "10117", "city": "Berlin", "state": "",
            "country": "DE", "request_id": uuid.uuid4()}  # fmt: skip
    assert client.post(reverse("selfserve:billing_details"), form).status_code == 302
    stripe_side = gateway().get(f"/v1/customers/{org.customer_id}")
    assert stripe_side["name"] == "Org Eins GmbH" and stripe_side["email"] == "ap@org.example"
    assert (
        stripe_side["address"]["city"] == "Berlin" and "cfo@org.example" in stripe_side["metadata"]["billing_emails_cc"]
    )
    assert Customer.objects.get(id=org.customer_id).stripe_data["name"] == "Org Eins GmbH"  # written through
    entry = AuditLog.objects.get(action="customer.billing_details")
    assert entry.data["after"]["name"] == "Org Eins GmbH"
    bad = client.post(
        reverse("selfserve:billing_details"), {**form, "extra_emails": "not-an-email", "request_id": uuid.uuid4()}
    )
    assert bad.status_code == 400 and "is not an email address" in bad.content.decode()


def test_tax_ids_are_checked_before_stripe_and_verified_by_event(client, sandbox, stripe_calls):
    org = world.organisation("eur", clock=False, owner_username="tax-owner")
    client.force_login(org.owner)
    stripe_calls.clear()
    bad = client.post(
        reverse("selfserve:tax_id_add"), {"kind": "eu_vat", "value": "DE136695977", "request_id": uuid.uuid4()}
    )
    assert bad.status_code == 400 and "the check digit is wrong" in bad.content.decode()
    assert stripe_calls == []
    added = client.post(
        reverse("selfserve:tax_id_add"), {"kind": "eu_vat", "value": "de 136 695 976", "request_id": uuid.uuid4()}
    )
    assert added.status_code == 302
    tax_id = TaxId.objects.get()
    assert tax_id.stripe_data["value"] == "DE136695976" and tax_id.stripe_data["verification"]["status"] == "pending"
    page = client.get(reverse("selfserve:billing_details")).content.decode()
    assert "DE136695976" in page and "Pending" in page
    deadline = time.monotonic() + 5
    while (
        time.monotonic() < deadline and gateway().get(f"/v1/tax_ids/{tax_id.id}")["verification"]["status"] == "pending"
    ):
        time.sleep(0.2)
    world.apply_stripe_events()  # customer.tax_id.updated, as the webhook brings it
    page = client.get(reverse("selfserve:billing_details")).content.decode()
    assert "Verified" in page
    again = client.post(
        reverse("selfserve:tax_id_add"), {"kind": "eu_vat", "value": "DE136695976", "request_id": uuid.uuid4()}
    )
    assert "already on file" in again.content.decode()
    client.post(reverse("selfserve:tax_id_remove", args=[tax_id.id]), {"request_id": uuid.uuid4()})
    assert not TaxId.objects.exists() and gateway().get(f"/v1/customers/{org.customer_id}/tax_ids")["data"] == []
