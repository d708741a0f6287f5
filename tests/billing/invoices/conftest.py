import pytest

from billing.stripe import sync
from billing.stripe.gateway import gateway


def make_invoice(*, currency="eur", unit=2800, seats=10, card="pm_card_visa", send_invoice=False, key="x"):
    """A subscription invoice in the sandbox (paid, or open and failing with a declining card), mirrored."""
    client = gateway()
    product = client.post("/v1/products", {"name": "Business+"}, idempotency_key=f"inv:{key}:prod")
    price = client.post(
        "/v1/prices",
        {"product": product["id"], "currency": currency, "unit_amount": unit, "recurring": {"interval": "month"}},
        idempotency_key=f"inv:{key}:price",
    )
    customer = client.post(
        "/v1/customers", {"email": f"{key}@x.example", "address": {"country": "DE"}}, idempotency_key=f"inv:{key}:cus"
    )
    params = {"customer": customer["id"], "items": [{"price": price["id"], "quantity": seats}]}
    if send_invoice:
        params.update(collection_method="send_invoice", days_until_due=30)
    else:
        pm = client.post(
            f"/v1/payment_methods/{card}/attach", {"customer": customer["id"]}, idempotency_key=f"inv:{key}:pm"
        )
        params["default_payment_method"] = pm["id"]
    subscription = client.post(
        "/v1/subscriptions", {**params, "payment_behavior": "allow_incomplete"}, idempotency_key=f"inv:{key}:sub"
    )
    sync.backfill(
        object_types=["product", "price", "customer", "payment_method", "subscription", "invoice", "charge"],
        restart=True,
    )
    return subscription["latest_invoice"], customer["id"]


@pytest.fixture
def paid_invoice(sandbox):
    return make_invoice(key="paid")


@pytest.fixture
def failing_invoice(sandbox):
    return make_invoice(key="failing", card="pm_card_chargeCustomerFail")


@pytest.fixture
def net30_invoice(sandbox):
    return make_invoice(key="net30", currency="jpy", unit=1050, send_invoice=True)
