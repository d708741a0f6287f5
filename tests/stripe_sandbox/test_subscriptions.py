"""Subscriptions: renewals and trials on test clocks, seat and interval changes, cancellation."""

import time

import pytest
import stripe

from tests.stripe_sandbox.conftest import catalog, customer_with_card


def test_subscription_renews_on_a_test_clock_and_a_decline_makes_it_past_due(sb):
    price = catalog(sb)
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    customer, pm = customer_with_card(sb, test_clock=clock.id)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id, "quantity": 3}]})
    assert sub.status == "active"
    first = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert first.status == "paid" and first.amount_paid == 2625 and first.number
    assert first.hosted_invoice_url and first.invoice_pdf
    assert first.parent.subscription_details.subscription == sub.id
    item = sub["items"].data[0]
    assert item.subscription == sub.id and item.current_period_end > item.current_period_start

    failing = sb.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    sb.v1.subscriptions.update(sub.id, {"default_payment_method": failing.id})
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": item.current_period_end + 3600})
    renewed = sb.v1.subscriptions.retrieve(sub.id)
    assert renewed.status == "past_due"
    open_invoice = sb.v1.invoices.retrieve(renewed.latest_invoice)
    assert open_invoice.status == "open" and open_invoice.attempt_count == 1
    assert open_invoice.billing_reason == "subscription_cycle" and open_invoice.next_payment_attempt

    with pytest.raises(stripe.CardError) as declined:
        sb.v1.invoices.pay(open_invoice.id)
    assert declined.value.http_status == 402 and declined.value.code == "card_declined"
    assert sb.v1.invoices.retrieve(open_invoice.id).attempt_count == 2
    paid = sb.v1.invoices.pay(open_invoice.id, {"payment_method": pm})
    assert paid.status == "paid"
    assert sb.v1.subscriptions.retrieve(sub.id).status == "active"


def test_trial_ends_on_the_clock(sb):
    price = catalog(sb)
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    customer, _ = customer_with_card(sb, test_clock=clock.id)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 14})
    assert sub.status == "trialing" and sb.v1.invoices.retrieve(sub.latest_invoice).amount_due == 0
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": sub.trial_end + 60})
    after = sb.v1.subscriptions.retrieve(sub.id)
    assert after.status == "active" and sb.v1.invoices.retrieve(after.latest_invoice).amount_paid == 875


def test_seat_change_with_proration_and_preview(sb):
    price = catalog(sb)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id, "quantity": 2}]})
    item = sub["items"].data[0]
    preview = sb.v1.invoices.create_preview(
        {
            "customer": customer.id,
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": item.id, "quantity": 5}],
                "proration_date": item.current_period_start,
            },
        }
    )
    prorations = [
        line
        for line in preview.lines.data
        if line.parent.subscription_item_details and line.parent.subscription_item_details.proration
    ]
    assert sorted(line.amount for line in prorations) == [-1750, 4375]  # whole period: -2 seats, +5 seats
    updated = sb.v1.subscriptions.update(
        sub.id, {"items": [{"id": item.id, "quantity": 5}], "proration_behavior": "always_invoice"}
    )
    assert updated["items"].data[0].quantity == 5
    invoice = sb.v1.invoices.retrieve(updated.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.status == "paid"
    none = sb.v1.subscriptions.update(sub.id, {"items": [{"id": item.id, "quantity": 6}], "proration_behavior": "none"})
    assert none.latest_invoice == updated.latest_invoice


def test_interval_change_invoices_now_and_resets_the_period(sb):
    monthly = catalog(sb)
    yearly = catalog(sb, amount=8750, interval="year")
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": monthly.id}]})
    item = sub["items"].data[0]
    changed = sb.v1.subscriptions.update(sub.id, {"items": [{"id": item.id, "price": yearly.id}]})
    assert changed["items"].data[0].price.recurring.interval == "year"
    assert changed.latest_invoice != sub.latest_invoice
    invoice = sb.v1.invoices.retrieve(changed.latest_invoice)
    assert invoice.status == "paid" and 8750 - 875 <= invoice.amount_paid <= 8750


def test_cancel_at_period_end_resume_and_cancel_now(sb):
    price = catalog(sb)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    assert sb.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True}).cancel_at_period_end
    assert not sb.v1.subscriptions.update(sub.id, {"cancel_at_period_end": False}).cancel_at_period_end
    canceled = sb.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled" and canceled.ended_at
