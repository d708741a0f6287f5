"""The server: idempotency, pagination and expand, Stripe's errors, faults, keys, control routes, localstripe."""

import time
import urllib.request

import pytest
import stripe

from tests.stripe_sandbox.conftest import catalog, control, customer_with_card


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


def test_coupons_and_plans_fall_through_to_localstripe(sb):
    coupon = sb.v1.coupons.create({"id": "LAUNCH20", "percent_off": 20, "duration": "once"})
    assert coupon.id == "LAUNCH20" and coupon.percent_off == 20
    assert [c.id for c in sb.v1.coupons.list().data] == ["LAUNCH20"]
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.coupons.retrieve("NOPE")
    control(sb.url, "/_sandbox/reset")
    assert sb.v1.coupons.list().data == []
