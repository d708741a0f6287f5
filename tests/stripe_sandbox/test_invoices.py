"""Invoices: send_invoice subscriptions and a one-off invoice's life."""

import pytest
import stripe

from tests.stripe_sandbox.conftest import catalog


def test_send_invoice_subscription_and_one_off_invoice_lifecycle(sb):
    price = catalog(sb, "eur", 2800)
    customer = sb.v1.customers.create({"email": "ent@x.example"})
    sub = sb.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": 10}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert sub.status == "active" and invoice.status == "open" and invoice.due_date
    assert sb.v1.invoices.send_invoice(invoice.id).status == "open"
    assert sb.v1.invoices.void_invoice(invoice.id).status == "void"

    draft = sb.v1.invoices.create(
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 14, "currency": "eur"}
    )
    sb.v1.invoice_items.create(
        {"customer": customer.id, "invoice": draft.id, "amount": 5000, "currency": "eur", "description": "Onboarding"}
    )
    final = sb.v1.invoices.finalize_invoice(draft.id)
    assert final.status == "open" and final.amount_due == 5000 and final.number
    assert sb.v1.invoices.mark_uncollectible(final.id).status == "uncollectible"
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.invoices.finalize_invoice(final.id)
