"""Every object type the portal mirrors, from Stripe's own example payloads, lands in its dj-stripe table."""

import json
from pathlib import Path

import pytest

from billing.stripe import mirror
from tests import stripe_payloads as sp

# Stripe's example objects (MIT, from Stripe's OpenAPI repository), kept with the sandbox.
EXAMPLES = json.loads((Path(__file__).parents[3] / "stripe_sandbox" / "shapes" / "templates.json").read_text())
EXTRA = {
    "checkout.session": {
        "id": "cs_test_1",
        "object": "checkout.session",
        "customer": "cus_ex",
        "mode": "setup",
        "status": "complete",
        "created": 1_760_000_000,
        "livemode": False,
        "metadata": {},
        "payment_intent": None,
        "setup_intent": None,
        "subscription": None,
    },
    "discount": {
        "id": "di_1",
        "object": "discount",
        "customer": "cus_ex",
        "subscription": None,
        "invoice": None,
        "start": 1_760_000_000,
        "end": None,
        "source": {"coupon": "SPRING", "type": "coupon"},
        "promotion_code": None,
    },
    "coupon": {
        "id": "SPRING",
        "object": "coupon",
        "percent_off": 20,
        "duration": "once",
        "created": 1_760_000_000,
        "livemode": False,
        "metadata": {},
        "valid": True,
    },
}

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("object_type", sorted(mirror.OBJECT_MODELS))
def test_each_type_is_applied_from_its_example(object_type):
    obj = json.loads(json.dumps(EXAMPLES.get(object_type) or EXTRA[object_type]))
    obj["livemode"] = False
    if object_type == "subscription_item":  # items arrive inside their subscription; the parent comes first
        mirror.apply_event(sp.event(sp.subscription(obj["subscription"], items=[]), "customer.subscription.created"))
    assert mirror.apply_event(sp.event(obj, f"{object_type}.created", created=1_760_000_000)) == "applied"
    row = mirror.OBJECT_MODELS[object_type].objects.get(id=obj["id"])
    assert row.stripe_data == obj
    assert row.livemode is False
    deleted = mirror.apply_event(sp.event({**obj, "deleted": True}, f"{object_type}.deleted", created=1_760_000_100))
    assert deleted == "applied"
    assert not mirror.OBJECT_MODELS[object_type].objects.filter(id=obj["id"]).exists()


@pytest.mark.parametrize(
    "event_type",
    [
        "billing.meter.created",
        "invoice_payment.paid",
        "test_helpers.test_clock.ready",
        "customer.discount.created",
        "payout.paid",
    ],
)
def test_other_types_are_ignored_visibly(event_type):
    obj = {"id": "x_1", "object": event_type.rsplit(".", 1)[0]}
    assert mirror.apply_event(sp.event(obj, event_type)) == "ignored"
