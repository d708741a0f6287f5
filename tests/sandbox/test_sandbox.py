"""The sandbox's flows through the official `stripe` SDK, at the pinned API version."""

import json
import time
import urllib.request
from pathlib import Path

import pytest
import stripe

from tests.conftest import wait_until
from tests.sandbox.conftest import control

KEYS = json.loads((Path(__file__).parents[2] / "stripe_sandbox" / "shapes" / "templates.json").read_text())


def catalog(sb, currency="usd", amount=875, interval="month"):
    product = sb.v1.products.create({"name": "Pro"})
    return sb.v1.prices.create(
        {
            "product": product.id,
            "currency": currency,
            "unit_amount": amount,
            "recurring": {"interval": interval},
            "lookup_key": f"pro_{interval}_{currency}",
        }
    )


def customer_with_card(sb, token="pm_card_visa", **extra):
    customer = sb.v1.customers.create({"email": "billing@acme.example", "name": "Acme", **extra})
    seti = sb.v1.setup_intents.create(
        {"customer": customer.id, "payment_method": token, "confirm": True, "usage": "off_session"}
    )
    sb.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": seti.payment_method}})
    return customer, seti.payment_method


def test_account_and_pinned_version(sb):
    account = sb.v1.accounts.retrieve_current()
    assert account.id.startswith("acct_") and account.object == "account"
    health = json.loads(urllib.request.urlopen(f"{sb.url}/_sandbox/health").read())
    assert health["api_version"] == "2026-08-26.dahlia"


def test_prices_in_zero_and_three_decimal_currencies(sb):
    jpy = catalog(sb, "jpy", 1050)
    kwd = catalog(sb, "kwd", 2700, "year")
    assert (jpy.unit_amount, jpy.currency) == (1050, "jpy")
    assert kwd.recurring.interval == "year" and kwd.unit_amount == 2700
    found = sb.v1.prices.list({"lookup_keys": ["pro_year_kwd"]})
    assert [p.id for p in found.data] == [kwd.id]


def test_customers_found_by_email_and_search(sb):
    sb.v1.customers.create(
        {
            "email": "a@x.example",
            "preferred_locales": ["de-DE"],
            "tax_exempt": "reverse",
            "address": {"country": "DE", "city": "Berlin"},
        }
    )
    sb.v1.customers.create({"email": "b@x.example"})
    listed = sb.v1.customers.list({"email": "a@x.example"})
    assert len(listed.data) == 1 and listed.data[0].tax_exempt == "reverse"
    assert listed.data[0].address.country == "DE" and listed.data[0].preferred_locales == ["de-DE"]
    searched = sb.v1.customers.search({"query": "email:'b@x.example'"})
    assert [c.email for c in searched.data] == ["b@x.example"]


def test_tax_ids_are_validated(sb):
    customer = sb.v1.customers.create({"email": "t@x.example"})
    tax_id = sb.v1.customers.tax_ids.create(customer.id, {"type": "eu_vat", "value": "DE123456789"})
    assert (tax_id.type, tax_id.value, tax_id.country) == ("eu_vat", "DE123456789", "DE")
    with pytest.raises(stripe.InvalidRequestError) as bad:
        sb.v1.customers.tax_ids.create(customer.id, {"type": "eu_vat", "value": "nope"})
    assert bad.value.code == "tax_id_invalid"


def test_card_ach_and_sepa_through_setup_intents(sb):
    customer = sb.v1.customers.create({"email": "pm@x.example", "name": "PM GmbH"})
    card = sb.v1.setup_intents.create({"customer": customer.id, "payment_method": "pm_card_visa", "confirm": True})
    ach = sb.v1.setup_intents.create(
        {
            "customer": customer.id,
            "confirm": True,
            "payment_method_types": ["us_bank_account"],
            "payment_method_data": {
                "type": "us_bank_account",
                "billing_details": {"name": "PM"},
                "us_bank_account": {
                    "routing_number": "110000000",
                    "account_number": "000123456789",
                    "account_holder_type": "company",
                },
            },
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        }
    )
    sepa = sb.v1.setup_intents.create(
        {
            "customer": customer.id,
            "confirm": True,
            "payment_method_types": ["sepa_debit"],
            "payment_method_data": {
                "type": "sepa_debit",
                "sepa_debit": {"iban": "DE89370400440532013000"},
                "billing_details": {"name": "PM GmbH", "email": "pm@x.example"},
            },
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        }
    )
    assert {card.status, ach.status, sepa.status} == {"succeeded"}
    assert ach.mandate and sepa.mandate
    methods = sb.v1.payment_methods.list({"customer": customer.id, "type": "sepa_debit"})
    assert [m.sepa_debit.last4 for m in methods.data] == ["3000"]
    all_methods = sb.v1.customers.payment_methods.list(customer.id)
    assert {m.type for m in all_methods.data} == {"card", "us_bank_account", "sepa_debit"}
    sb.v1.payment_methods.detach(card.payment_method)
    assert len(sb.v1.customers.payment_methods.list(customer.id).data) == 2


def test_a_declining_card_fails_setup_with_a_card_error(sb):
    customer = sb.v1.customers.create({"email": "d@x.example"})
    with pytest.raises(stripe.CardError) as declined:
        sb.v1.setup_intents.create(
            {"customer": customer.id, "payment_method": "pm_card_chargeDeclined", "confirm": True}
        )
    assert declined.value.http_status == 402 and declined.value.code == "card_declined"


def test_subscription_renews_on_a_test_clock_and_a_decline_makes_it_past_due(sb):
    price = catalog(sb)
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    customer, pm = customer_with_card(sb, test_clock=clock.id)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id, "quantity": 3}]})
    assert sub.status == "active"
    first = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert first.status == "paid" and first.amount_paid == 2625 and first.number
    assert first.hosted_invoice_url and first.invoice_pdf
    assert first.parent.subscription_details.subscription == sub.id
    item = sub["items"].data[0]
    assert item.subscription == sub.id and item.current_period_end > item.current_period_start

    failing = sb.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    sb.v1.subscriptions.update(sub.id, {"default_payment_method": failing.id})
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": item.current_period_end + 3600})
    renewed = sb.v1.subscriptions.retrieve(sub.id)
    assert renewed.status == "past_due"
    open_invoice = sb.v1.invoices.retrieve(renewed.latest_invoice)
    assert open_invoice.status == "open" and open_invoice.attempt_count == 1
    assert open_invoice.billing_reason == "subscription_cycle" and open_invoice.next_payment_attempt

    with pytest.raises(stripe.CardError) as declined:
        sb.v1.invoices.pay(open_invoice.id)
    assert declined.value.http_status == 402 and declined.value.code == "card_declined"
    assert sb.v1.invoices.retrieve(open_invoice.id).attempt_count == 2
    paid = sb.v1.invoices.pay(open_invoice.id, {"payment_method": pm})
    assert paid.status == "paid"
    assert sb.v1.subscriptions.retrieve(sub.id).status == "active"


def test_trial_ends_on_the_clock(sb):
    price = catalog(sb)
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    customer, _ = customer_with_card(sb, test_clock=clock.id)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 14})
    assert sub.status == "trialing" and sb.v1.invoices.retrieve(sub.latest_invoice).amount_due == 0
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": sub.trial_end + 60})
    after = sb.v1.subscriptions.retrieve(sub.id)
    assert after.status == "active" and sb.v1.invoices.retrieve(after.latest_invoice).amount_paid == 875


def test_seat_change_with_proration_and_preview(sb):
    price = catalog(sb)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id, "quantity": 2}]})
    item = sub["items"].data[0]
    preview = sb.v1.invoices.create_preview(
        {
            "customer": customer.id,
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": item.id, "quantity": 5}],
                "proration_date": item.current_period_start,
            },
        }
    )
    prorations = [
        line
        for line in preview.lines.data
        if line.parent.subscription_item_details and line.parent.subscription_item_details.proration
    ]
    assert sorted(line.amount for line in prorations) == [-1750, 4375]  # whole period: -2 seats, +5 seats
    updated = sb.v1.subscriptions.update(
        sub.id, {"items": [{"id": item.id, "quantity": 5}], "proration_behavior": "always_invoice"}
    )
    assert updated["items"].data[0].quantity == 5
    invoice = sb.v1.invoices.retrieve(updated.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.status == "paid"
    none = sb.v1.subscriptions.update(sub.id, {"items": [{"id": item.id, "quantity": 6}], "proration_behavior": "none"})
    assert none.latest_invoice == updated.latest_invoice


def test_interval_change_invoices_now_and_resets_the_period(sb):
    monthly = catalog(sb)
    yearly = catalog(sb, amount=8750, interval="year")
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": monthly.id}]})
    item = sub["items"].data[0]
    changed = sb.v1.subscriptions.update(sub.id, {"items": [{"id": item.id, "price": yearly.id}]})
    assert changed["items"].data[0].price.recurring.interval == "year"
    assert changed.latest_invoice != sub.latest_invoice
    invoice = sb.v1.invoices.retrieve(changed.latest_invoice)
    assert invoice.status == "paid" and 8750 - 875 <= invoice.amount_paid <= 8750


def test_cancel_at_period_end_resume_and_cancel_now(sb):
    price = catalog(sb)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    assert sb.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True}).cancel_at_period_end
    assert not sb.v1.subscriptions.update(sub.id, {"cancel_at_period_end": False}).cancel_at_period_end
    canceled = sb.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled" and canceled.ended_at


def test_send_invoice_subscription_and_one_off_invoice_lifecycle(sb):
    price = catalog(sb, "eur", 2800)
    customer = sb.v1.customers.create({"email": "ent@x.example"})
    sub = sb.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": 10}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert sub.status == "active" and invoice.status == "open" and invoice.due_date
    assert sb.v1.invoices.send_invoice(invoice.id).status == "open"
    assert sb.v1.invoices.void_invoice(invoice.id).status == "void"

    draft = sb.v1.invoices.create(
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 14, "currency": "eur"}
    )
    sb.v1.invoice_items.create(
        {"customer": customer.id, "invoice": draft.id, "amount": 5000, "currency": "eur", "description": "Onboarding"}
    )
    final = sb.v1.invoices.finalize_invoice(draft.id)
    assert final.status == "open" and final.amount_due == 5000 and final.number
    assert sb.v1.invoices.mark_uncollectible(final.id).status == "uncollectible"
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.invoices.finalize_invoice(final.id)


def test_refund_dispute_and_review(sb):
    customer, _ = customer_with_card(sb, token="pm_card_createDispute")
    intent = sb.v1.payment_intents.create(
        {
            "amount": 5000,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": "pm_card_createDispute",
            "confirm": True,
        }
    )
    assert intent.status == "succeeded"
    disputes = sb.v1.disputes.list()
    assert [d.charge for d in disputes.data] == [intent.latest_charge]
    refund = sb.v1.refunds.create({"payment_intent": intent.id, "amount": 1000})
    assert refund.status == "succeeded" and sb.v1.charges.retrieve(intent.latest_charge).amount_refunded == 1000
    review = control(sb.url, f"/_sandbox/charges/{intent.latest_charge}/review")
    assert review["open"] and sb.v1.reviews.retrieve(review["id"]).charge == intent.latest_charge


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


def test_signed_webhooks_are_verified_and_redelivered(sb, receiver):
    hook = receiver(fail_first=1)
    endpoint = sb.v1.webhook_endpoints.create({"url": hook.url, "enabled_events": ["customer.created"]})
    assert endpoint.secret.startswith("whsec_")
    customer = sb.v1.customers.create({"email": "hook@x.example"})
    sb.v1.customers.update(customer.id, {"name": "Not subscribed to this event"})
    wait_until(lambda: hook.deliveries, 15, message="redelivery after a 500")
    events = hook.events(endpoint.secret)
    assert [e.type for e in events] == ["customer.created"]
    assert events[0].api_version == "2026-08-26.dahlia" and events[0].data.object.id == customer.id
    assert hook.calls == 2  # the first answer was a 500
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(hook.deliveries[0][0].decode(), hook.deliveries[0][1], "whsec_wrong")


def test_updated_events_carry_previous_attributes(sb):
    customer = sb.v1.customers.create({"email": "old@x.example"})
    sb.v1.customers.update(customer.id, {"email": "new@x.example"})
    updated = sb.v1.events.list({"type": "customer.updated"}).data[0]
    assert updated.data.previous_attributes.to_dict() == {"email": "old@x.example"}
    assert updated.data.object.email == "new@x.example"


def test_idempotent_replay_and_mismatch(sb):
    first = sb.v1.customers.create({"email": "i@x.example"}, {"idempotency_key": "k1"})
    again = sb.v1.customers.create({"email": "i@x.example"}, {"idempotency_key": "k1"})
    assert first.id == again.id
    with pytest.raises(stripe.IdempotencyError):
        sb.v1.customers.create({"email": "other@x.example"}, {"idempotency_key": "k1"})


def test_pagination_and_expand(sb):
    ids = [sb.v1.customers.create({"email": f"p{n}@x.example"}).id for n in range(7)]
    page1 = sb.v1.customers.list({"limit": 3})
    page2 = sb.v1.customers.list({"limit": 3, "starting_after": page1.data[-1].id})
    page3 = sb.v1.customers.list({"limit": 3, "starting_after": page2.data[-1].id})
    assert page1.has_more and page2.has_more and not page3.has_more
    assert [c.id for c in page1.data + page2.data + page3.data] == list(reversed(ids))
    price = catalog(sb)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    expanded = sb.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice", "customer"]})
    assert expanded.latest_invoice.object == "invoice" and expanded.customer.object == "customer"
    listed = sb.v1.invoices.list({"customer": customer.id, "expand": ["data.customer"]})
    assert listed.data[0].customer.email == "billing@acme.example"


def test_unknown_parameters_and_ids_are_stripe_errors_not_500s(sb):
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        sb.v1.customers.create({"emial": "typo@x.example"})
    assert unknown.value.http_status == 400 and unknown.value.code == "parameter_unknown"
    assert unknown.value.error.param == "emial"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sb.v1.invoices.retrieve("in_nope")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_faults_rate_limit_errors_latency(sb):
    control(sb.url, "/_sandbox/faults", {"rate_limit": True})
    statuses = []
    for _ in range(40):
        try:
            sb.v1.customers.list({"limit": 1})
            statuses.append(200)
        except stripe.RateLimitError as error:
            statuses.append(error.http_status)
    assert statuses[:25] == [200] * 25 and 429 in statuses
    control(sb.url, "/_sandbox/faults", {"rate_limit": False, "error_rate": 1.0})
    with pytest.raises(stripe.APIError) as failed:
        sb.v1.customers.list()
    assert failed.value.http_status == 500
    control(sb.url, "/_sandbox/faults", {"error_rate": 0, "timeout_rate": 1.0})
    with pytest.raises(stripe.APIConnectionError):
        sb.v1.customers.list()
    control(sb.url, "/_sandbox/faults", {"timeout_rate": 0, "latency_ms": 200})
    started = time.monotonic()
    sb.v1.customers.list()
    assert time.monotonic() - started >= 0.2


def test_live_keys_are_refused(sandbox_url):
    live = stripe.StripeClient(
        "sk_live_nope000000000000000000000", base_addresses={"api": sandbox_url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError):
        live.v1.customers.list()


def test_stripe_js_and_invoice_documents_are_served(sb):
    js = urllib.request.urlopen(f"{sb.url}/v3/stripe.js").read().decode()
    assert "confirmCardSetup" in js and "confirmSepaDebitSetup" in js and "confirmUsBankAccountSetup" in js
    price = catalog(sb)
    customer, _ = customer_with_card(sb)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert urllib.request.urlopen(invoice.invoice_pdf).read().startswith(b"%PDF")
    assert invoice.number.encode() in urllib.request.urlopen(invoice.hosted_invoice_url).read()


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


def test_coupons_and_plans_fall_through_to_localstripe(sb):
    coupon = sb.v1.coupons.create({"id": "LAUNCH20", "percent_off": 20, "duration": "once"})
    assert coupon.id == "LAUNCH20" and coupon.percent_off == 20
    assert [c.id for c in sb.v1.coupons.list().data] == ["LAUNCH20"]
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.coupons.retrieve("NOPE")
    control(sb.url, "/_sandbox/reset")
    assert sb.v1.coupons.list().data == []


def test_webhooks_only_go_to_this_machine(sb):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sb.v1.webhook_endpoints.create({"url": "https://hooks.example.com/x", "enabled_events": ["*"]})
    assert refused.value.error.param == "url"
    assert sb.v1.webhook_endpoints.create({"url": "http://localhost:9/x", "enabled_events": ["*"]}).secret
