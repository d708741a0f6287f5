"""Billing meters: usage billed in arrears at renewal."""

import time

import pytest
import stripe

from tests.stripe_sandbox.conftest import customer_with_card


def test_metered_usage_is_billed_in_arrears(sb):
    meter = sb.v1.billing.meters.create(
        {"display_name": "API calls", "event_name": "api_call", "default_aggregation": {"formula": "sum"}}
    )
    product = sb.v1.products.create({"name": "API"})
    metered = sb.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 2,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    customer, _ = customer_with_card(sb, test_clock=clock.id)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": metered.id}]})
    start = sub["items"].data[0].current_period_start
    for n in range(3):
        sb.v1.billing.meter_events.create(
            {
                "event_name": "api_call",
                "identifier": f"call-{n}",
                "payload": {"stripe_customer_id": customer.id, "value": "100"},
                "timestamp": start + 60,
            }
        )
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.billing.meter_events.create(
            {
                "event_name": "api_call",
                "identifier": "call-0",
                "payload": {"stripe_customer_id": customer.id, "value": "1"},
            }
        )
    summary = sb.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer.id, "start_time": start, "end_time": start + 86400}
    )
    assert summary.data[0].aggregated_value == 300
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": sub["items"].data[0].current_period_end + 60})
    renewal = sb.v1.invoices.retrieve(sb.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert renewal.amount_paid == 600


def test_an_adjustment_cancels_a_meter_event(sb):
    sb.v1.billing.meters.create(
        {"display_name": "Runs", "event_name": "run", "default_aggregation": {"formula": "sum"}}
    )
    meter = sb.v1.billing.meters.list().data[0]
    customer, _ = customer_with_card(sb)
    now = int(time.time())
    for n, value in enumerate(("7", "5")):
        sb.v1.billing.meter_events.create(
            {
                "event_name": "run",
                "identifier": f"r-{n}",
                "payload": {"stripe_customer_id": customer.id, "value": value},
                "timestamp": now,
            }
        )
    adjustment = sb.v1.billing.meter_event_adjustments.create(
        {"event_name": "run", "type": "cancel", "cancel": {"identifier": "r-0"}}
    )
    assert (adjustment.object, adjustment.status, adjustment.cancel.identifier) == (
        "billing.meter_event_adjustment",
        "complete",
        "r-0",
    )
    summary = sb.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer.id, "start_time": now - 10, "end_time": now + 10}
    )
    assert summary.data[0].aggregated_value == 5
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.billing.meter_event_adjustments.create({"event_name": "run", "cancel": {"identifier": "nope"}})


def test_a_balance_credit_lowers_the_next_invoice_and_metered_lines_carry_their_usage_period(sb):
    meter = sb.v1.billing.meters.create(
        {"display_name": "Seats", "event_name": "seat", "default_aggregation": {"formula": "last"}}
    )
    product = sb.v1.products.create({"name": "Seats"})
    price = sb.v1.prices.create(
        {"product": product.id, "currency": "jpy", "unit_amount": 1050,
         "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id}}
    )  # fmt: skip
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    customer, _ = customer_with_card(sb, test_clock=clock.id)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    start, end = sub["items"].data[0].current_period_start, sub["items"].data[0].current_period_end
    sb.v1.billing.meter_events.create(
        {
            "event_name": "seat",
            "identifier": "s-1",
            "payload": {"stripe_customer_id": customer.id, "value": "3"},
            "timestamp": start + 5,
        }
    )
    credit = sb.v1.customers.balance_transactions.create(
        customer.id, {"amount": -735, "currency": "jpy", "description": "Fair billing", "metadata": {"member": "ana"}}
    )
    assert (credit.type, credit.ending_balance, credit.metadata["member"]) == ("adjustment", -735, "ana")
    assert sb.v1.customers.retrieve(customer.id).balance == -735
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": end + 60})
    renewal = sb.v1.invoices.retrieve(sb.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert renewal.total == 3150
    assert (renewal.starting_balance, renewal.amount_due, renewal.ending_balance) == (-735, 2415, 0)
    assert renewal.amount_paid == 2415
    line = renewal.lines.data[0]
    assert (line.period.start, line.period.end) == (start, end)
    listed = sb.v1.customers.balance_transactions.list(customer.id)
    assert [t.type for t in listed.data] == ["applied_to_invoice", "adjustment"]
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.customers.balance_transactions.create(customer.id, {"amount": -5, "currency": "usd"})
