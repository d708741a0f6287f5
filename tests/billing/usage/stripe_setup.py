"""Organisations billed by usage in the sandbox: meters with prices, a customer on a test clock, a card,
a metered subscription, all in the mirror."""

from __future__ import annotations

import time

from billing.customers.services import customer_create, customer_set_default_payment_method
from billing.stripe import mirror
from billing.stripe.gateway import gateway
from billing.usage.services import meter_create, metered_subscription_create


def stripe_meters(admin):
    return {
        "calls": meter_create(
            key="api_calls", name="API calls", unit="call", aggregation="sum", prices={"usd": 2, "jpy": 3}, actor=admin
        ),
        "storage": meter_create(
            key="storage_gb", name="Storage", unit="GB", aggregation="max", prices={"usd": 25, "jpy": 40}, actor=admin
        ),
        "seats": meter_create(
            key="active_seats", name="Active seats", unit="seat", aggregation="active_seats",
            prices={"usd": 875, "jpy": 1050}, actor=admin, inactive_after_days=7,
        ),
    }  # fmt: skip


def billed_by_usage(organisation, meters, *, currency="usd", frozen_time=None):
    """Customer (on a test clock) with a card and a metered subscription; returns the subscription."""
    client = gateway()
    organisation.stripe_customer_id = None
    organisation.save(update_fields=["stripe_customer_id"])
    clock = client.post(
        "/v1/test_helpers/test_clocks",
        {"frozen_time": frozen_time or int(time.time())},
        idempotency_key=f"test:clock:{organisation.slug}:{time.time()}",
    )
    customer_create(organisation=organisation, test_clock=clock["id"])
    method = client.post(
        "/v1/payment_methods/pm_card_visa/attach",
        {"customer": organisation.stripe_customer_id},
        idempotency_key=f"test:pm:{organisation.stripe_customer_id}",
    )
    customer_set_default_payment_method(
        organisation=organisation, payment_method_id=method["id"], request_key="usage-test"
    )
    subscription = metered_subscription_create(
        organisation=organisation, meters=list(meters), currency=currency, request_key="test"
    )
    mirror.apply_object(client.get(f"/v1/prices/{subscription['items']['data'][0]['price']['id']}"))
    return subscription, clock


def summary(meter, customer_id, start, end) -> int:
    page = gateway().get(
        f"/v1/billing/meters/{meter.stripe_meter_id}/event_summaries",
        customer=customer_id, start_time=int(start.timestamp()), end_time=int(end.timestamp()),
    )  # fmt: skip
    return page["data"][0]["aggregated_value"]
