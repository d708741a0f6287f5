"""Events of one object within the same second: Stripe does not order them, so the mirror asks.

The probe's case: three `customer.subscription.updated` in one second, the last setting
`cancel_at_period_end`; whichever order they arrive in, the mirror must end where Stripe is.
"""

from __future__ import annotations

import itertools
import time

import pytest
from djstripe import models as dj

from billing.stripe import mirror
from billing.stripe.gateway import gateway
from billing.stripe.models import ObjectVersion
from tests import stripe_payloads as sp

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_updates(sandbox):
    """A subscription in the sandbox and the three update events it sent, all stamped one second."""
    client = gateway()
    customer = client.post("/v1/customers", {"email": "tie@x.example"}, idempotency_key="t:tie:cus")
    client.post("/v1/payment_methods/pm_card_visa/attach", {"customer": customer["id"]}, idempotency_key="t:tie:pm")
    product = client.post("/v1/products", {"name": "Pro"}, idempotency_key="t:tie:prod")
    price = client.post(
        "/v1/prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 800, "recurring": {"interval": "month"}},
        idempotency_key="t:tie:price",
    )
    pm = client.get(f"/v1/customers/{customer['id']}/payment_methods")["data"][0]["id"]
    subscription = client.post(
        "/v1/subscriptions",
        {"customer": customer["id"], "items": [{"price": price["id"], "quantity": 3}], "default_payment_method": pm},
        idempotency_key="t:tie:sub",
    )
    item = subscription["items"]["data"][0]["id"]
    sub_path = f"/v1/subscriptions/{subscription['id']}"
    client.post(sub_path, {"metadata": {"seats_note": "board approved"}}, idempotency_key="t:tie:u1")
    client.post(
        sub_path, {"items": [{"id": item, "quantity": 5}], "proration_behavior": "none"}, idempotency_key="t:tie:u2"
    )
    client.post(sub_path, {"cancel_at_period_end": "true"}, idempotency_key="t:tie:u3")
    mine = [
        e
        for e in reversed(client.get("/v1/events", limit=100)["data"])  # oldest first
        if e["data"]["object"].get("id") == subscription["id"]
    ]
    keys = {"t:tie:u1", "t:tie:u2", "t:tie:u3"}
    events = [e for e in mine if (e.get("request") or {}).get("idempotency_key") in keys]
    before = [e for e in mine if e not in events]
    assert len(events) == 3 and [e["type"] for e in events] == ["customer.subscription.updated"] * 3
    second = int(time.time()) - 60
    for evt in events:
        evt["created"] = second  # Stripe's one-second resolution: all three in one second
    for n, evt in enumerate(before):
        evt["created"] = second - 10 + n  # what came before, each in a second of its own
    return subscription["id"], before, events


def reset(subscription_id: str) -> None:
    dj.SubscriptionItem.objects.filter(subscription_id=subscription_id).delete()
    dj.Subscription.objects.filter(id=subscription_id).delete()
    ObjectVersion.objects.filter(stripe_id=subscription_id).delete()


def test_every_order_of_three_same_second_versions_ends_at_stripes_state(three_updates, stripe_calls):
    subscription_id, before, updates = three_updates
    truth = gateway().get(f"/v1/subscriptions/{subscription_id}")
    assert truth["cancel_at_period_end"] is True and truth["items"]["data"][0]["quantity"] == 5
    for order in itertools.permutations(updates):
        reset(subscription_id)
        stripe_calls.clear()
        for evt in before:
            assert mirror.apply_event(evt) == mirror.Outcome.applied
        outcomes = [mirror.apply_event(evt) for evt in order]
        row = dj.Subscription.objects.get(id=subscription_id)
        assert row.stripe_data["cancel_at_period_end"] is True, [e["id"] for e in order]
        assert row.stripe_data["items"]["data"][0]["quantity"] == 5
        assert row.stripe_data["metadata"] == {"seats_note": "board approved"}
        assert dj.SubscriptionItem.objects.get(subscription_id=subscription_id).stripe_data["quantity"] == 5
        # One question to Stripe settles the second; the third version is then known to be no newer.
        assert stripe_calls == [("GET", f"/v1/subscriptions/{subscription_id}")]
        assert outcomes[0] == mirror.Outcome.applied and outcomes[2] == mirror.Outcome.stale


def test_the_same_state_twice_in_one_second_asks_nothing(stripe_calls):
    sub = sp.subscription("sub_same", created=100)
    assert mirror.apply_event(sp.event(sub, "customer.subscription.updated", created=500)) == "applied"
    assert mirror.apply_event(sp.event(sub, "customer.subscription.updated", created=500)) == "applied"
    assert stripe_calls == []


def test_an_older_second_is_stale_without_asking(stripe_calls):
    mirror.apply_event(sp.event(sp.subscription("sub_old", quantity=9), "customer.subscription.updated", created=500))
    older = sp.event(sp.subscription("sub_old", quantity=2), "customer.subscription.updated", created=499)
    assert mirror.apply_event(older) == mirror.Outcome.stale
    assert stripe_calls == []
    assert dj.SubscriptionItem.objects.get(subscription_id="sub_old").stripe_data["quantity"] == 9


def test_a_tie_in_the_current_second_is_not_settled_for_good(three_updates, stripe_calls):
    """Stripe's answer within two seconds of the tie may predate an event of that same second."""
    subscription_id, before, updates = three_updates
    now = int(time.time())
    for evt in updates:
        evt["created"] = now
    for evt in before:
        mirror.apply_event(evt)
    for evt in (updates[2], updates[0], updates[1]):  # newest first: both older ones tie and differ
        mirror.apply_event(evt)
    assert not ObjectVersion.objects.get(stripe_id=subscription_id).settled
    assert len(stripe_calls) == 2  # each later tie asked again
    assert dj.Subscription.objects.get(id=subscription_id).stripe_data["cancel_at_period_end"] is True


def test_a_tie_on_a_child_object_type_is_left_to_its_parent(stripe_calls):
    line = {"id": "il_tie", "object": "line_item", "invoice": "in_x", "amount": 1}
    mirror.apply_event(sp.event(line, "line_item.updated", created=500))
    assert mirror.apply_event(sp.event({**line, "amount": 2}, "line_item.updated", created=500)) == "stale"
    assert stripe_calls == []
