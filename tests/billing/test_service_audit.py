"""Every service that writes toward Stripe leaves an audit entry and writes the result through."""

import pytest
from djstripe.models import Customer, Price, Product, Subscription

from accounts.models import AuditLog, Organisation
from billing.catalog.services import price_create, product_create
from billing.customers.services import customer_create, customer_set_default_payment_method, setup_intent_create
from billing.stripe.gateway import gateway
from billing.subscriptions.services import SubscriptionError, subscription_cancel, subscription_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(db):
    return Organisation.objects.create(name="Hooli", slug="hooli", country="US", billing_email="b@hooli.example")


def actions() -> list[str]:
    return list(AuditLog.objects.order_by("id").values_list("action", flat=True))


def test_catalog_services_write_through_and_audit(sandbox, people):
    product = product_create(key="pro", name="Pro", actor=people.admin)
    price = price_create(
        product_id=product["id"],
        currency="jpy",
        unit_amount=1050,
        interval="month",
        lookup_key="pro_m_jpy",
        actor=people.admin,
    )
    assert Product.objects.filter(id=product["id"]).exists() and Price.objects.get(id=price["id"]).lookup_key
    assert actions() == ["product.create", "price.create"]
    entry = AuditLog.objects.get(action="price.create")
    assert entry.actor == people.admin and entry.data["unit_amount"] == 1050 and entry.data["currency"] == "jpy"
    # The same lookup key again is the same intent: Stripe replays, nothing new is created.
    again = price_create(
        product_id=product["id"], currency="jpy", unit_amount=1050, interval="month", lookup_key="pro_m_jpy"
    )
    assert again["id"] == price["id"]


def test_price_create_refuses_floats_and_odd_intervals(sandbox):
    with pytest.raises(ValueError):
        price_create(product_id="prod_x", currency="usd", unit_amount=8.75, interval="month", lookup_key="x")
    with pytest.raises(ValueError):
        price_create(product_id="prod_x", currency="usd", unit_amount=875, interval="fortnight", lookup_key="x")


def test_customer_payment_method_and_subscription_services_audit(sandbox, org, people):
    customer = customer_create(organisation=org, actor=people.admin)
    assert Customer.objects.filter(id=customer["id"]).exists()
    setup = setup_intent_create(organisation=org, method_type="card", request_key="r1", actor=people.owner)
    confirmed = gateway().post(
        f"/v1/setup_intents/{setup['id']}/confirm", {"payment_method": "pm_card_visa"}, idempotency_key="t:confirm"
    )
    customer_set_default_payment_method(
        organisation=org, payment_method_id=confirmed["payment_method"], request_key="t1"
    )
    product = product_create(key="biz", name="Business+")
    price = price_create(
        product_id=product["id"], currency="usd", unit_amount=1500, interval="month", lookup_key="biz_m_usd"
    )
    subscription = subscription_create(organisation=org, price_id=price["id"], quantity=3, request_key="signup")
    assert Subscription.objects.get(id=subscription["id"]).stripe_data["status"] == "active"
    subscription_cancel(
        organisation=org, subscription_id=subscription["id"], at_period_end=True, request_key="t1", actor=people.owner
    )
    assert Subscription.objects.get(id=subscription["id"]).stripe_data["cancel_at_period_end"] is True
    assert actions() == [
        "customer.create",
        "setup_intent.create",
        "customer.default_payment_method",
        "product.create",
        "price.create",
        "subscription.create",
        "subscription.cancel",
    ]
    assert AuditLog.objects.filter(organisation=org).count() == 5


def test_subscription_create_refuses_before_asking_stripe(org, stripe_calls):
    with pytest.raises(SubscriptionError, match="no Stripe customer"):
        subscription_create(organisation=org, price_id="price_x", quantity=1, request_key="r")
    org.stripe_customer_id = "cus_x"
    with pytest.raises(SubscriptionError, match="at least one seat"):
        subscription_create(organisation=org, price_id="price_x", quantity=0, request_key="r")
    assert stripe_calls == []


def test_a_change_made_again_after_its_undo_is_a_new_request_not_a_replay(sandbox, org):
    """Stripe replays a key's first answer for 24 hours: keys name the request, not only the object,
    so default A → B → A and cancel → resume → cancel all reach Stripe."""
    customer_create(organisation=org)
    methods = [
        gateway().post(
            f"/v1/payment_methods/{token}/attach", {"customer": org.stripe_customer_id}, idempotency_key=f"t:{token}"
        )["id"]
        for token in ("pm_card_visa", "pm_card_mastercard")
    ]
    for step, method in enumerate([methods[0], methods[1], methods[0]]):
        customer_set_default_payment_method(organisation=org, payment_method_id=method, request_key=f"r{step}")
    stripe_customer = gateway().get(f"/v1/customers/{org.stripe_customer_id}")
    assert stripe_customer["invoice_settings"]["default_payment_method"] == methods[0]
    assert (
        Customer.objects.get(id=org.stripe_customer_id).stripe_data["invoice_settings"]["default_payment_method"]
        == (methods[0])
    )
    customer_set_default_payment_method(organisation=org, payment_method_id=methods[1], request_key="r9")
    product = product_create(key="biz", name="Business+")
    price = price_create(
        product_id=product["id"], currency="usd", unit_amount=1500, interval="month", lookup_key="biz_m_usd"
    )
    subscription = subscription_create(organisation=org, price_id=price["id"], quantity=1, request_key="signup")
    subscription_cancel(organisation=org, subscription_id=subscription["id"], at_period_end=True, request_key="c1")
    gateway().post(
        f"/v1/subscriptions/{subscription['id']}", {"cancel_at_period_end": "false"}, idempotency_key="t:resume"
    )
    again = subscription_cancel(
        organisation=org, subscription_id=subscription["id"], at_period_end=True, request_key="c2"
    )
    assert again["cancel_at_period_end"] is True
    assert Subscription.objects.get(id=subscription["id"]).stripe_data["cancel_at_period_end"] is True
