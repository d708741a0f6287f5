"""Every foreign key dj-stripe models is filled, whichever of child and parent arrives first.

Objects are Stripe's own examples (stripe_sandbox/shapes/templates.json) with ids of our own;
each relation is tried with the parent's event first and with the child's event first.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from djstripe import models as dj

from billing.stripe import mirror
from tests import stripe_payloads as sp

pytestmark = pytest.mark.django_db

EXAMPLES = json.loads((Path(__file__).parents[3] / "stripe_sandbox" / "shapes" / "templates.json").read_text())


def example(object_type: str, object_id: str, **fields) -> dict:
    obj = copy.deepcopy(EXAMPLES[object_type])
    obj.update(id=object_id, livemode=False, metadata={}, **fields)
    return obj


def put(obj: dict, path: tuple[str, ...], value) -> dict:
    target = obj
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value
    return obj


# (child type, field, parent type, where the child names the parent)
RELATIONS = [
    ("price", "product", "product", ("product",)),
    ("subscription", "customer", "customer", ("customer",)),
    ("invoice", "customer", "customer", ("customer",)),
    ("invoice", "subscription", "subscription", ("parent", "subscription_details", "subscription")),
    ("invoice", "default_payment_method", "payment_method", ("default_payment_method",)),
    ("invoiceitem", "customer", "customer", ("customer",)),
    ("invoiceitem", "invoice", "invoice", ("invoice",)),
    ("invoiceitem", "price", "price", ("pricing", "price_details", "price")),
    ("invoiceitem", "subscription", "subscription", ("parent", "subscription_details", "subscription")),
    ("payment_intent", "customer", "customer", ("customer",)),
    ("payment_intent", "payment_method", "payment_method", ("payment_method",)),
    ("charge", "customer", "customer", ("customer",)),
    ("charge", "payment_intent", "payment_intent", ("payment_intent",)),
    ("charge", "payment_method", "payment_method", ("payment_method",)),
    ("refund", "charge", "charge", ("charge",)),
    ("dispute", "charge", "charge", ("charge",)),
    ("dispute", "payment_intent", "payment_intent", ("payment_intent",)),
    ("tax_id", "customer", "customer", ("customer",)),
    ("setup_intent", "customer", "customer", ("customer",)),
    ("setup_intent", "payment_method", "payment_method", ("payment_method",)),
    ("mandate", "payment_method", "payment_method", ("payment_method",)),
    ("payment_method", "customer", "customer", ("customer",)),
    ("customer", "default_payment_method", "payment_method", ("invoice_settings", "default_payment_method")),
]
PARENT_OWN_FIELDS = {  # a parent's own required parents, so the parent example is complete
    "subscription": {"customer": "cus_owner", "items": {"object": "list", "data": [], "has_more": False}},
    "invoice": {"customer": "cus_owner", "lines": {"object": "list", "data": [], "has_more": False}},
    "price": {"product": "prod_owner"},
    "payment_method": {"customer": None},
}


def child_for(child_type: str, path: tuple[str, ...], parent_id: str) -> dict:
    child = example(child_type, f"{child_type.replace('.', '_')}_child")
    if child_type == "invoice":
        child["lines"] = {"object": "list", "data": [], "has_more": False}
        child["payments"] = {"object": "list", "data": [], "has_more": False}
    if child_type == "invoiceitem":
        put(child, ("pricing", "price_details", "product"), "prod_owner")
    if child_type == "customer":
        child["default_source"] = None
    return put(child, path, parent_id)


def value_of(row, field: str) -> str | None:
    f = row._meta.get_field(field)
    if f.target_field.attname == "id":
        return getattr(row, f.attname)
    related = getattr(row, field)
    return related.id if related else None


@pytest.mark.parametrize("order", ["parent first", "child first"])
@pytest.mark.parametrize(("child_type", "field", "parent_type", "path"), RELATIONS, ids=lambda v: str(v))
def test_relation_is_filled_in_any_order(child_type, field, parent_type, path, order):
    parent_id = f"{parent_type}_parent"
    parent = example(parent_type, parent_id, **PARENT_OWN_FIELDS.get(parent_type, {}))
    child = child_for(child_type, path, parent_id)
    events = [
        sp.event(parent, f"{parent_type}.created", created=100),
        sp.event(child, f"{child_type}.created", created=100),
    ]
    if order == "child first":
        events.reverse()
    for evt in events:
        assert mirror.apply_event(evt) == mirror.Outcome.applied
    child_row = mirror.OBJECT_MODELS[child_type].objects.get(id=child["id"])
    assert value_of(child_row, field) == parent_id
    parent_row = mirror.OBJECT_MODELS[parent_type].objects.get(id=parent_id)
    assert parent_row.livemode is False, "the parent's own event filled its stub"


@pytest.mark.parametrize("order", ["parent first", "child first"])
@pytest.mark.parametrize(
    ("field", "parent_id", "path"),
    [
        ("subscription", "sub_parent", ("parent", "subscription_item_details", "subscription")),
        ("subscription_item", "subscription_item_parent", ("parent", "subscription_item_details", "subscription_item")),
        ("invoice_item", "invoiceitem_parent", ("parent", "invoice_item_details", "invoice_item")),
    ],
)
def test_invoice_line_relations_in_any_order(field, parent_id, path, order):
    """Lines arrive inside their invoice; what they name may come before or after it."""
    line = example("line_item", "il_1")
    put(line, ("parent", "subscription_item_details", "subscription"), "sub_parent")
    put(line, path, parent_id)
    invoice = example(
        "invoice", "in_lines", customer="cus_owner", lines={"object": "list", "data": [line], "has_more": False}
    )
    invoice["parent"] = {"type": "subscription_details", "subscription_details": {"subscription": "sub_parent"}}
    item = sp.subscription_item(
        "sub_parent", sp.price("price_p", product_id="prod_p"), 3, 100, id="subscription_item_parent"
    )
    subscription = sp.subscription("sub_parent", customer_id="cus_owner", items=[item])
    invoiceitem = put(
        example("invoiceitem", "invoiceitem_parent", customer="cus_owner"), ("pricing", "price_details"), {}
    )
    parents = [sp.event(subscription, "customer.subscription.created", created=100)]
    if parent_id == "invoiceitem_parent":
        parents.append(sp.event(invoiceitem, "invoiceitem.created", created=100))
    events = [*parents, sp.event(invoice, "invoice.created", created=100)]
    if order == "child first":
        events.reverse()
    for evt in events:
        assert mirror.apply_event(evt) == mirror.Outcome.applied
    row = dj.LineItem.objects.get(id="il_1")
    assert getattr(row, f"{field}_id") == parent_id


def test_invoice_payment_intent_comes_from_its_default_payment():
    invoice = example(
        "invoice", "in_paid", customer="cus_owner", lines={"object": "list", "data": [], "has_more": False}
    )
    invoice["payments"] = {
        "object": "list",
        "data": [
            {
                "object": "invoice_payment",
                "is_default": False,
                "payment": {"type": "payment_intent", "payment_intent": "pi_old"},
            },
            {
                "object": "invoice_payment",
                "is_default": True,
                "payment": {"type": "payment_intent", "payment_intent": "pi_paid"},
            },
        ],
        "has_more": False,
    }
    mirror.apply_event(sp.event(invoice, "invoice.paid", created=100))
    assert dj.Invoice.objects.get(id="in_paid").payment_intent.id == "pi_paid"


def test_refund_after_its_charge_arrives_and_links():
    """The probe's case: `charge.succeeded` then `refund.created` failed on the charge foreign key for ever."""
    charge = example("charge", "ch_X", customer=None, payment_intent=None, payment_method=None)
    refund = example("refund", "re_X", charge="ch_X", payment_intent=None)
    assert mirror.apply_event(sp.event(charge, "charge.succeeded", created=100)) == "applied"
    assert mirror.apply_event(sp.event(refund, "refund.created", created=101)) == "applied"
    assert dj.Refund.objects.get(id="re_X").charge_id == "ch_X"


def test_an_item_added_with_a_new_price_links_to_it_whatever_comes_next(django_capture_on_commit_callbacks):
    """Subscription with price A; then an update with items [A, B]; then `price.created` for B.

    Each event commits as on a worker, so the process remembers price A as written."""
    price_a = sp.price("price_A", product_id="prod_x")
    price_b = sp.price("price_B", product_id="prod_x", unit_amount=1500)
    item_a = sp.subscription_item("sub_race", price_a, 2, 100, id="si_A")
    item_b = sp.subscription_item("sub_race", price_b, 1, 100, id="si_B")
    for evt in (
        sp.event(sp.subscription("sub_race", items=[item_a]), "customer.subscription.created", created=100),
        sp.event(sp.subscription("sub_race", items=[item_a, item_b]), "customer.subscription.updated", created=101),
        sp.event(price_b, "price.created", created=102),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            mirror.apply_event(evt)
    assert dj.SubscriptionItem.objects.get(id="si_B").price.id == "price_B"
    assert dj.SubscriptionItem.objects.get(id="si_A").price.id == "price_A"
    assert dj.Price.objects.get(id="price_B").livemode is False
