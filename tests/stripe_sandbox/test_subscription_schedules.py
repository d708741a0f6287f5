"""Subscription schedules (a change at the next renewal), and updates that must be paid or not happen."""

import time

import pytest
import stripe

from tests.stripe_sandbox.conftest import customer_with_card


def catalog(sb, currency="usd", amount=875, interval="month"):
    product = sb.v1.products.create({"name": f"Plan {amount}"})
    return sb.v1.prices.create(
        {"product": product.id, "currency": currency, "unit_amount": amount, "recurring": {"interval": interval}}
    )


def scheduled(sb, sub, price, quantity, duration="month"):
    schedule = sb.v1.subscription_schedules.create({"from_subscription": sub.id})
    phase = schedule.phases[0]
    return sb.v1.subscription_schedules.update(
        schedule.id,
        {
            "phases": [
                {
                    "items": [{"price": i.price, "quantity": i.quantity} for i in phase["items"]],
                    "start_date": phase.start_date,
                    "end_date": phase.end_date,
                },
                {"items": [{"price": price.id, "quantity": quantity}], "duration": {"interval": duration}},
            ],
            "end_behavior": "release",
            "proration_behavior": "none",
        },
    )


def test_a_downgrade_waits_for_the_renewal_and_the_preview_matches_it(sb):
    business = catalog(sb, amount=1500)
    pro = catalog(sb, amount=875)
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    customer, _ = customer_with_card(sb, test_clock=clock.id)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": business.id, "quantity": 4}]})
    item = sub["items"].data[0]
    preview = sb.v1.invoices.create_preview(
        {
            "customer": customer.id,
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": item.id, "price": pro.id, "quantity": 3}],
                "proration_behavior": "none",
            },
        }
    )
    assert preview.amount_due == 3 * 875
    schedule = scheduled(sb, sub, pro, 3)
    assert schedule.status == "active" and len(schedule.phases) == 2
    assert schedule.phases[1].start_date == item.current_period_end
    again = sb.v1.subscriptions.retrieve(sub.id)
    assert again.schedule == schedule.id and again["items"].data[0].price.id == business.id  # not yet

    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": item.current_period_end + 3600})
    renewed = sb.v1.subscriptions.retrieve(sub.id)
    assert renewed["items"].data[0].price.id == pro.id and renewed["items"].data[0].quantity == 3
    invoice = sb.v1.invoices.retrieve(renewed.latest_invoice)
    assert invoice.billing_reason == "subscription_cycle" and invoice.amount_due == preview.amount_due
    schedule = sb.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "active" and schedule.current_phase.start_date == item.current_period_end

    # One period of the new phase later, the schedule lets go and the subscription carries on.
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": renewed["items"].data[0].current_period_end + 60})
    schedule = sb.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "released" and schedule.released_subscription == sub.id
    after = sb.v1.subscriptions.retrieve(sub.id)
    assert after.status == "active" and after.schedule is None and after["items"].data[0].price.id == pro.id


def test_annual_to_monthly_at_the_end_of_the_year(sb):
    monthly = catalog(sb, amount=875)
    annual = catalog(sb, amount=8750, interval="year")
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    customer, _ = customer_with_card(sb, test_clock=clock.id)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": annual.id, "quantity": 2}]})
    end = sub["items"].data[0].current_period_end
    scheduled(sb, sub, monthly, 2)
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": end + 60})
    renewed = sb.v1.subscriptions.retrieve(sub.id)
    item = renewed["items"].data[0]
    assert item.price.recurring.interval == "month" and item.current_period_start == end
    assert sb.v1.invoices.retrieve(renewed.latest_invoice).amount_paid == 2 * 875


def test_release_keeps_the_subscription_as_it_is(sb):
    business, pro = catalog(sb, amount=1500), catalog(sb, amount=875)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": business.id}]})
    schedule = scheduled(sb, sub, pro, 1)
    with pytest.raises(stripe.InvalidRequestError, match="managed by the subscription schedule"):
        sb.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    with pytest.raises(stripe.InvalidRequestError, match="already attached to a schedule"):
        sb.v1.subscription_schedules.create({"from_subscription": sub.id})
    released = sb.v1.subscription_schedules.release(schedule.id)
    assert released.status == "released" and released.subscription is None
    assert sb.v1.subscriptions.retrieve(sub.id).schedule is None
    listed = sb.v1.subscription_schedules.list({"customer": customer.id})
    assert [s.id for s in listed.data] == [schedule.id]


def test_schedules_refuse_what_stripe_refuses(sb):
    price, other = catalog(sb), catalog(sb, currency="eur", amount=800)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    schedule = sb.v1.subscription_schedules.create({"from_subscription": sub.id})
    phase = schedule.phases[0]
    first = {"items": [{"price": price.id, "quantity": 1}], "start_date": phase.start_date, "end_date": phase.end_date}
    with pytest.raises(stripe.InvalidRequestError, match="is in eur"):
        sb.v1.subscription_schedules.update(schedule.id, {"phases": [first, {"items": [{"price": other.id}]}]})
    with pytest.raises(stripe.InvalidRequestError, match="duration"):
        sb.v1.subscription_schedules.update(
            schedule.id, {"phases": [first, {"items": [{"price": price.id}], "iterations": 1}]}
        )
    with pytest.raises(stripe.InvalidRequestError, match="start date of the current phase"):
        sb.v1.subscription_schedules.update(schedule.id, {"phases": [{**first, "start_date": phase.start_date - 10}]})


def test_an_upgrade_that_is_not_paid_is_not_made(sb):
    pro, business = catalog(sb, amount=875), catalog(sb, amount=1500)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": pro.id, "quantity": 2}]})
    failing = sb.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    sb.v1.subscriptions.update(sub.id, {"default_payment_method": failing.id})
    item = sub["items"].data[0]
    with pytest.raises(stripe.CardError) as declined:
        sb.v1.subscriptions.update(
            sub.id,
            {
                "items": [{"id": item.id, "price": business.id}],
                "proration_behavior": "always_invoice",
                "payment_behavior": "error_if_incomplete",
            },
        )
    assert declined.value.http_status == 402 and "declined" in declined.value.user_message
    after = sb.v1.subscriptions.retrieve(sub.id)
    assert after["items"].data[0].price.id == pro.id and after.status == "active"
    assert after.latest_invoice == sub.latest_invoice
    voided = [i for i in sb.v1.invoices.list({"customer": customer.id}).data if i.status == "void"]
    assert len(voided) == 1 and voided[0].billing_reason == "subscription_update"


def test_a_proration_date_outside_the_period_is_refused(sb):
    price, business = catalog(sb), catalog(sb, amount=1500)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    item = sub["items"].data[0]
    change = {"items": [{"id": item.id, "price": business.id}], "proration_date": item.current_period_start - 86400}
    with pytest.raises(stripe.InvalidRequestError, match="proration_date"):
        sb.v1.subscriptions.update(sub.id, change)
    with pytest.raises(stripe.InvalidRequestError, match="proration_date"):
        sb.v1.invoices.create_preview({"customer": customer.id, "subscription": sub.id, "subscription_details": change})
