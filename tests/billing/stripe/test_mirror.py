import pytest
from djstripe.models import Customer, Invoice, LineItem, Price, Product, Subscription, SubscriptionItem

from billing.reports.metrics import subscription_mrr
from billing.stripe import accessors, mirror
from billing.stripe.models import ObjectVersion
from tests import stripe_payloads as sp

pytestmark = pytest.mark.django_db


def apply(obj, type, created):
    return mirror.apply_event(sp.event(obj, type, created=created))


def test_customer_from_payload_without_any_stripe_call(settings, stripe_calls):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: any call would fail
    assert apply(sp.customer("cus_1", email="a@x.example"), "customer.created", 100) == mirror.Outcome.applied
    assert stripe_calls == []  # not even one whose failure was swallowed
    customer = Customer.objects.get(id="cus_1")
    assert customer.email == "a@x.example"
    assert customer.livemode is False
    assert customer.stripe_data["address"]["country"] == "DE"


def test_the_call_counter_sees_a_swallowed_refetch(settings, stripe_calls, monkeypatch):
    """The assertion above can fail: a re-fetch whose error is caught is still counted."""
    from billing.stripe.errors import StripeGatewayError
    from billing.stripe.gateway import gateway

    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_MAX_RETRIES = 0
    real_apply = mirror.apply_event

    def apply_with_refetch(payload, **kwargs):
        try:
            gateway().get(f"/v1/customers/{payload['data']['object']['id']}")
        except StripeGatewayError:
            pass
        return real_apply(payload, **kwargs)

    monkeypatch.setattr(mirror, "apply_event", apply_with_refetch)
    assert apply(sp.customer("cus_1"), "customer.created", 100) == mirror.Outcome.applied
    assert stripe_calls == [("GET", "/v1/customers/cus_1")]


def test_older_event_never_overwrites_newer_state():
    apply(sp.customer("cus_1", email="new@x.example"), "customer.updated", 200)
    assert apply(sp.customer("cus_1", email="old@x.example"), "customer.updated", 100) == mirror.Outcome.stale
    assert Customer.objects.get(id="cus_1").email == "new@x.example"


def test_same_second_created_after_updated_is_stale():
    apply(sp.customer("cus_1", email="updated@x.example"), "customer.updated", 100)
    assert apply(sp.customer("cus_1", email="created@x.example"), "customer.created", 100) == mirror.Outcome.stale
    assert Customer.objects.get(id="cus_1").email == "updated@x.example"


def test_duplicate_delivery_applies_the_same_state_again():
    evt = sp.event(sp.customer("cus_1"), "customer.created", created=100)
    assert mirror.apply_event(evt) == mirror.Outcome.applied
    assert mirror.apply_event(evt) == mirror.Outcome.applied
    assert Customer.objects.filter(id="cus_1").count() == 1


def test_delete_deletes_and_a_late_update_does_not_resurrect():
    apply(sp.customer("cus_1"), "customer.created", 100)
    apply({**sp.customer("cus_1"), "deleted": True}, "customer.deleted", 200)
    assert not Customer.objects.filter(id="cus_1").exists()
    assert apply(sp.customer("cus_1"), "customer.updated", 300) == mirror.Outcome.stale
    assert not Customer.objects.filter(id="cus_1").exists()
    assert ObjectVersion.objects.get(stripe_id="cus_1").deleted


def test_subscription_before_its_customer_gets_a_stub_then_the_real_row():
    the_price = sp.price("price_1", product_id="prod_1")
    apply(
        sp.subscription("sub_1", customer_id="cus_late", the_price=the_price, quantity=7),
        "customer.subscription.created",
        100,
    )
    stub = Customer.objects.get(id="cus_late")
    assert stub.livemode is None and stub.stripe_data.get("stub") is True
    # The embedded price is mirrored; its product becomes a stub.
    assert Price.objects.get(id="price_1").stripe_data["unit_amount"] == 875
    assert Product.objects.get(id="prod_1").livemode is None
    item = SubscriptionItem.objects.get(subscription_id="sub_1")
    assert item.price.id == "price_1" and item.stripe_data["quantity"] == 7
    apply(sp.customer("cus_late", email="late@x.example"), "customer.created", 90)
    real = Customer.objects.get(id="cus_late")
    assert real.email == "late@x.example" and real.livemode is False


def test_embedded_copy_never_overwrites_a_real_row():
    apply(sp.price("price_1", product_id="prod_1", unit_amount=999), "price.updated", 500)
    stale_copy = sp.price("price_1", product_id="prod_1", unit_amount=100)
    apply(sp.subscription("sub_1", customer_id="cus_1", the_price=stale_copy), "customer.subscription.created", 100)
    assert Price.objects.get(id="price_1").stripe_data["unit_amount"] == 999


def test_removed_subscription_items_are_deleted():
    the_price = sp.price("price_1", product_id="prod_1")
    sub = sp.subscription("sub_1", customer_id="cus_1", the_price=the_price)
    apply(sub, "customer.subscription.created", 100)
    old_item = sub["items"]["data"][0]["id"]
    new_price = sp.price("price_2", product_id="prod_1", unit_amount=8750, interval="year")
    changed = sp.subscription("sub_1", customer_id="cus_1", the_price=new_price)
    apply(changed, "customer.subscription.updated", 200)
    items = list(SubscriptionItem.objects.filter(subscription_id="sub_1"))
    assert [i.price.id for i in items] == ["price_2"]
    assert not SubscriptionItem.objects.filter(id=old_item).exists()


def test_subscription_deleted_event_keeps_the_canceled_subscription():
    sub = sp.subscription("sub_1", customer_id="cus_1", status="canceled")
    apply(sub, "customer.subscription.deleted", 100)
    assert Subscription.objects.get(id="sub_1").stripe_data["status"] == "canceled"


def test_invoice_links_subscription_through_dahlia_parent_and_lines():
    apply(sp.subscription("sub_1", customer_id="cus_1"), "customer.subscription.created", 100)
    inv = sp.invoice("in_1", customer_id="cus_1", subscription_id="sub_1", status="open", attempt_count=1)
    apply(inv, "invoice.payment_failed", 150)
    invoice = Invoice.objects.get(id="in_1")
    assert invoice.subscription_id == "sub_1"
    assert accessors.invoice_subscription_id(invoice) == "sub_1"
    assert not accessors.invoice_is_paid(invoice)
    assert LineItem.objects.filter(subscription_id="sub_1").count() == 1
    apply(sp.invoice("in_1", customer_id="cus_1", subscription_id="sub_1", status="paid"), "invoice.paid", 150)
    assert accessors.invoice_is_paid(Invoice.objects.get(id="in_1"))


def test_unknown_object_types_are_ignored():
    evt = sp.event({"id": "bm_1", "object": "billing.meter"}, "billing.meter.created")
    assert mirror.apply_event(evt) == mirror.Outcome.ignored


def test_write_through_object_then_its_own_older_event_is_stale():
    assert mirror.apply_object(sp.customer("cus_1", email="now@x.example"))
    assert apply(sp.customer("cus_1", email="before@x.example"), "customer.created", 1_000) == mirror.Outcome.stale


def test_accessors_read_periods_and_mrr_from_items():
    yearly = sp.price("price_y", unit_amount=12_000, interval="year", currency="jpy")
    sub = sp.subscription("sub_1", the_price=yearly, quantity=3, period_start=1_760_000_000)
    assert subscription_mrr(sub) == 3_000  # ¥12,000 × 3 / 12
    assert accessors.subscription_period_end(sub).timestamp() == 1_760_000_000 + 365 * 86400


def test_statements_per_event_stay_small(django_assert_max_num_queries):
    apply(sp.subscription("sub_0", customer_id="cus_1"), "customer.subscription.created", 50)
    inv = sp.invoice("in_1", customer_id="cus_1", subscription_id="sub_0")
    # claim, invoice, one line (parents already known are still ensured by upsert-if-missing)
    with django_assert_max_num_queries(8):
        apply(inv, "invoice.created", 100)
