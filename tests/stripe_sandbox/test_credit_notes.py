"""Credit notes: lower an open invoice, refund or credit a paid one, in Stripe's shapes and errors."""

import pytest
import stripe

from tests.stripe_sandbox.conftest import catalog, customer_with_card


def paid_invoice(sb, seats: int = 4):
    price = catalog(sb, "usd", 1500)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id, "quantity": seats}]})
    return customer, sb.v1.invoices.retrieve(sub.latest_invoice)


def test_a_credit_note_on_a_paid_invoice_refunds_or_credits_the_balance(sb):
    customer, invoice = paid_invoice(sb)
    assert invoice.status == "paid" and invoice.amount_paid == 6000
    line = invoice.lines.data[0]
    refund_note = sb.v1.credit_notes.create(
        {
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": line.id, "quantity": 1}],
            "reason": "order_change",
            "memo": "One seat was never used",
        }
    )
    assert refund_note.total == 1500 and refund_note.type == "post_payment" and refund_note.status == "issued"
    assert refund_note.refunds[0]["amount_refunded"] == 1500
    credit_note = sb.v1.credit_notes.create({"invoice": invoice.id, "amount": 500, "credit_amount": 500})
    assert credit_note.customer_balance_transaction
    assert sb.v1.customers.retrieve(customer.id).balance == -500
    assert sb.v1.invoices.retrieve(invoice.id).post_payment_credit_notes_amount == 2000
    with pytest.raises(stripe.InvalidRequestError, match="greater than the amount paid"):
        sb.v1.credit_notes.create({"invoice": invoice.id, "amount": 9000})
    listed = sb.v1.credit_notes.list({"invoice": invoice.id})
    assert {n.id for n in listed.data} == {refund_note.id, credit_note.id}


def test_a_credit_note_on_an_open_invoice_lowers_what_it_asks_for_and_can_be_voided(sb):
    price = catalog(sb, "jpy", 1050)
    customer = sb.v1.customers.create({"email": "net30@x.example"})
    sub = sb.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": 10}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    note = sb.v1.credit_notes.create({"invoice": invoice.id, "amount": 2100, "reason": "duplicate"})
    assert note.type == "pre_payment"
    assert sb.v1.invoices.retrieve(invoice.id).amount_due == 8400
    sb.v1.credit_notes.void_credit_note(note.id)
    assert sb.v1.invoices.retrieve(invoice.id).amount_due == 10500
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.credit_notes.create({"invoice": invoice.id, "amount": 0})
    with pytest.raises(stripe.InvalidRequestError, match="reason"):
        sb.v1.credit_notes.create({"invoice": invoice.id, "amount": 100, "reason": "because"})
