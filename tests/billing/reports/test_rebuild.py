"""The ledger rebuilt from the mirror equals the ledger kept by events, on an account made in the sandbox."""

import datetime as dt

import pytest
from django.core.management import call_command

from billing.reports.models import MonthlyTotal, MrrMovement, PaymentFact, SubscriptionMrr
from billing.stripe import processing
from billing.stripe.gateway import gateway
from billing.stripe.models import StripeEvent

pytestmark = pytest.mark.django_db


def apply_everything_stripe_sent() -> None:
    events = list(reversed(gateway().get("/v1/events", limit=100)["data"]))
    assert len(events) < 100
    for evt in events:
        obj = evt["data"]["object"]
        StripeEvent.objects.create(
            id=evt["id"],
            type=evt["type"],
            created=dt.datetime.fromtimestamp(evt["created"], dt.UTC),
            object_type=obj.get("object", ""),
            object_id=obj.get("id", ""),
            payload=evt,
        )
    processing.events_process(event_ids=[e["id"] for e in events])


def snapshot():
    movements = [
        (m.subscription_id, m.kind, m.amount, m.currency, m.effective_at)
        for m in MrrMovement.objects.order_by("effective_at", "subscription_id", "id")
    ]
    state = dict(SubscriptionMrr.objects.values_list("subscription_id", "mrr"))
    totals = sorted(MonthlyTotal.objects.values_list("ledger", "month", "currency", "kind", "amount", "count"))
    payments = sorted(PaymentFact.objects.values_list("kind", "source_id", "amount", "currency"))
    return movements, state, totals, payments


def test_rebuilt_ledger_equals_the_ledger_kept_by_events(sandbox):
    client = gateway()
    product = client.post("/v1/products", {"name": "Pro"}, idempotency_key="rb:prod")
    usd = client.post(
        "/v1/prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 875, "recurring": {"interval": "month"}},
        idempotency_key="rb:usd",
    )
    jpy = client.post(
        "/v1/prices",
        {"product": product["id"], "currency": "jpy", "unit_amount": 12000, "recurring": {"interval": "year"}},
        idempotency_key="rb:jpy",
    )
    subs = {}
    for n, (price, seats) in enumerate([(usd, 10), (jpy, 3), (usd, 4)]):
        customer = client.post("/v1/customers", {"email": f"rb{n}@x.example"}, idempotency_key=f"rb:cus:{n}")
        client.post(
            "/v1/payment_methods/pm_card_visa/attach", {"customer": customer["id"]}, idempotency_key=f"rb:pm:{n}"
        )
        pm = client.get(f"/v1/customers/{customer['id']}/payment_methods")["data"][0]["id"]
        subs[n] = client.post(
            "/v1/subscriptions",
            {
                "customer": customer["id"],
                "items": [{"price": price["id"], "quantity": seats}],
                "default_payment_method": pm,
            },
            idempotency_key=f"rb:sub:{n}",
        )
    trial_customer = client.post("/v1/customers", {"email": "trial@x.example"}, idempotency_key="rb:cus:t")
    client.post(
        "/v1/subscriptions",
        {"customer": trial_customer["id"], "items": [{"price": usd["id"]}], "trial_period_days": 14},
        idempotency_key="rb:sub:t",
    )
    item = subs[0]["items"]["data"][0]["id"]
    client.post(
        f"/v1/subscriptions/{subs[0]['id']}", {"items": [{"id": item, "quantity": 16}]}, idempotency_key="rb:grow"
    )
    client.delete(f"/v1/subscriptions/{subs[2]['id']}", idempotency_key="rb:cancel")
    apply_everything_stripe_sent()

    kept = snapshot()
    assert {m[1] for m in kept[0]} >= {"new", "expansion", "churn"}
    assert kept[1][subs[0]["id"]] == 16 * 875 and kept[1][subs[1]["id"]] == 3_000  # ¥12,000 × 3 ÷ 12
    assert kept[3], "charges were recorded as payments"
    call_command("ledger_rebuild", verbosity=0)
    rebuilt = snapshot()

    def without_time(movements):
        return [m[:4] for m in movements]

    assert without_time(rebuilt[0]) == without_time(kept[0])
    for (*_, kept_at), (*_, rebuilt_at) in zip(kept[0], rebuilt[0], strict=True):
        assert abs((kept_at - rebuilt_at).total_seconds()) <= 2  # the event's second vs the invoice's period
    assert rebuilt[1] == kept[1]
    assert rebuilt[2] == kept[2]
    assert rebuilt[3] == kept[3]
