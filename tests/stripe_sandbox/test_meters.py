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
