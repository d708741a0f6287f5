"""Payments: refunds, disputes and Radar reviews."""

from tests.stripe_sandbox.conftest import control, customer_with_card


def test_refund_dispute_and_review(sb):
    customer, _ = customer_with_card(sb, token="pm_card_createDispute")
    intent = sb.v1.payment_intents.create(
        {
            "amount": 5000,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": "pm_card_createDispute",
            "confirm": True,
        }
    )
    assert intent.status == "succeeded"
    disputes = sb.v1.disputes.list()
    assert [d.charge for d in disputes.data] == [intent.latest_charge]
    refund = sb.v1.refunds.create({"payment_intent": intent.id, "amount": 1000})
    assert refund.status == "succeeded" and sb.v1.charges.retrieve(intent.latest_charge).amount_refunded == 1000
    review = control(sb.url, f"/_sandbox/charges/{intent.latest_charge}/review")
    assert review["open"] and sb.v1.reviews.retrieve(review["id"]).charge == intent.latest_charge
