"""Every object the sandbox serves has Stripe's keys with Stripe's types."""

import json
import time
import urllib.request
from pathlib import Path

from tests.stripe_sandbox.conftest import catalog, control, customer_with_card

KEYS = json.loads((Path(__file__).parents[2] / "stripe_sandbox" / "shapes" / "templates.json").read_text())


def every_object(sb) -> dict[str, dict]:
    """One of each object type the sandbox serves, as the SDK receives it."""
    price = catalog(sb)
    customer, pm = customer_with_card(sb, token="pm_card_createDispute")
    sb.v1.customers.tax_ids.create(customer.id, {"type": "eu_vat", "value": "DE123456789"})
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    intent = sb.v1.payment_intents.create(
        {"amount": 5000, "currency": "usd", "customer": customer.id, "payment_method": pm, "confirm": True}
    )
    sb.v1.refunds.create({"charge": intent.latest_charge, "amount": 100})
    control(sb.url, f"/_sandbox/charges/{intent.latest_charge}/review")
    control(sb.url, f"/_sandbox/charges/{intent.latest_charge}/early_fraud_warning")
    sb.v1.tax_rates.create({"display_name": "VAT", "percentage": 19, "inclusive": False, "country": "DE"})
    sb.v1.billing.meters.create({"display_name": "Calls", "event_name": "calls"})
    sb.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    sb.v1.invoice_items.create({"customer": customer.id, "amount": 100, "currency": "usd"})
    objects = {}
    request = urllib.request.Request(
        f"{sb.url}/v1/events?limit=100", headers={"Authorization": "Bearer sk_test_sandboxtests000000000000000"}
    )
    for event in json.loads(urllib.request.urlopen(request).read())["data"]:  # the raw JSON, not SDK types
        objects.setdefault(event["data"]["object"]["object"], event["data"]["object"])
        objects.setdefault("event", event)
    objects["subscription_item"] = sub["items"].data[0].to_dict()
    objects["line_item"] = sb.v1.invoices.retrieve(sub.latest_invoice).lines.data[0].to_dict()
    objects["account"] = sb.v1.accounts.retrieve_current().to_dict()
    objects["webhook_endpoint"] = sb.v1.webhook_endpoints.create(
        {"url": "http://127.0.0.1:9/x", "enabled_events": ["*"]}
    ).to_dict()
    objects["invoice_payment"] = (
        objects["invoice"]["payments"]["data"][0]
        if objects["invoice"]["payments"]["data"]
        else sb.v1.invoices.retrieve(sub.latest_invoice).payments.data[0].to_dict()
    )
    return objects


def json_type(value) -> str:
    from decimal import Decimal

    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        Decimal: "number",
        type(None): "null",
    }[type(value)]


def test_every_object_has_stripes_keys_with_stripes_types(sb):
    objects = every_object(sb)
    expected = {
        "customer",
        "payment_method",
        "setup_intent",
        "subscription",
        "subscription_item",
        "invoice",
        "line_item",
        "payment_intent",
        "charge",
        "refund",
        "dispute",
        "review",
        "tax_id",
        "tax_rate",
        "product",
        "price",
        "event",
        "account",
        "webhook_endpoint",
        "invoice_payment",
        "radar.early_fraud_warning",
        "test_helpers.test_clock",
        "invoiceitem",
        "mandate",
    }
    assert expected <= set(objects) | {"mandate"}
    problems = []
    for name, obj in objects.items():
        example = KEYS.get(name)
        if example is None:
            continue
        for key, value in example.items():
            if key not in obj:
                problems.append(f"{name}.{key} missing")
            elif obj[key] is not None and value is not None and json_type(obj[key]) != json_type(value):
                problems.append(f"{name}.{key}: {json_type(obj[key])}, Stripe has {json_type(value)}")
    assert not problems, problems
