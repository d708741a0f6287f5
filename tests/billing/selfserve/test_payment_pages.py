"""Payment methods through the pages against the sandbox (Stripe.js's confirm done as the browser
would): offered per country and currency, ACH by micro-deposits, SEPA's mandate kept, the default,
removal refused while a plan uses the method; and two subscriptions charged to two methods."""

import uuid

import pytest
from django.urls import reverse
from djstripe.models import Customer, Mandate, PaymentMethod

from billing.customers.models import CustomerRequest
from billing.stripe.gateway import gateway
from tests import billing_world as world

pytestmark = pytest.mark.django_db
ACCEPTANCE = {"customer_acceptance": {"type": "online", "online": {"ip_address": "127.0.0.1", "user_agent": "t"}}}


def start(client, kind: str) -> str:
    response = client.post(reverse("selfserve:payment_method_add"), {"type": kind, "request_id": uuid.uuid4()})
    assert response.status_code == 302, response.content
    return response.url.rstrip("/").rsplit("/", 1)[-1]


def browser_confirms(setup_intent_id: str, data: dict, **extra) -> dict:
    """What Stripe.js does with the client secret (here with the secret key, as the sandbox allows)."""
    return gateway().post(
        f"/v1/setup_intents/{setup_intent_id}/confirm",
        {"payment_method_data": data, **extra},
        idempotency_key=f"t:confirm:{setup_intent_id}",
    )


def test_methods_follow_country_and_currency(client, sandbox):
    us = world.organisation("usd", card=None, clock=False, owner_username="us-owner")
    client.force_login(us.owner)
    page = client.get(reverse("selfserve:payment_method_add")).content.decode()
    assert "US bank account (ACH Direct Debit)" in page and "SEPA" not in page
    refused = client.post(
        reverse("selfserve:payment_method_add"), {"type": "sepa_debit", "request_id": uuid.uuid4()}, follow=True
    )
    assert "not offered for your organisation" in refused.content.decode()
    gb = world.organisation("gbp", card=None, clock=False, owner_username="gb-owner")
    client.force_login(gb.owner)
    assert "Bacs Direct Debit" in client.get(reverse("selfserve:payment_method_add")).content.decode()


def test_a_card_through_the_setup_page(client, sandbox, settings):
    org = world.organisation("eur", card=None, clock=False, owner_username="eu-owner")
    client.force_login(org.owner)
    seti = start(client, "card")
    page = client.get(reverse("selfserve:payment_method_setup", args=[seti])).content.decode()
    assert settings.STRIPE_JS_URL in page and "data-secret=" in page  # Stripe.js, as configured
    browser_confirms(seti, {"type": "card", "card": {"number": "4242424242424242"}})
    saved = client.post(reverse("selfserve:payment_method_saved"), {"setup_intent": seti, "make_default": "on"})
    assert saved.url == reverse("selfserve:payment_methods")
    method = PaymentMethod.objects.get(customer__id=org.customer_id)
    assert (
        Customer.objects.get(id=org.customer_id).stripe_data["invoice_settings"]["default_payment_method"] == method.id
    )
    again = client.get(f"{reverse('selfserve:payment_method_saved')}?setup_intent={seti}")  # the return_url, twice
    assert again.status_code == 302 and PaymentMethod.objects.count() == 1
    other = world.organisation("eur", card=None, clock=False, owner_username="other-owner")
    client.force_login(other.owner)
    assert client.get(reverse("selfserve:payment_method_setup", args=[seti])).status_code == 404
    assert client.post(reverse("selfserve:payment_method_saved"), {"setup_intent": seti}).status_code == 404


def test_sepa_keeps_its_mandate(client, sandbox):
    org = world.organisation("eur", card=None, clock=False, owner_username="de-owner")
    client.force_login(org.owner)
    seti = start(client, "sepa_debit")
    assert (
        "authorise Billing Portal Inc."
        in client.get(reverse("selfserve:payment_method_setup", args=[seti])).content.decode()
    )
    data = {"type": "sepa_debit", "sepa_debit": {"iban": "DE89370400440532013000"},
            "billing_details": {"name": "Org", "email": "b@example.com"}}  # fmt: skip
    browser_confirms(seti, data, mandate_data=ACCEPTANCE)
    client.post(reverse("selfserve:payment_method_saved"), {"setup_intent": seti})
    mandate = Mandate.objects.get()
    assert mandate.stripe_data["payment_method_details"]["sepa_debit"]["reference"]
    page = client.get(reverse("selfserve:payment_methods")).content.decode()
    assert "SEPA" in page and mandate.stripe_data["payment_method_details"]["sepa_debit"]["reference"] in page


def test_ach_by_micro_deposits_and_an_account_that_fails_verification(client, sandbox):
    org = world.organisation("usd", card=None, clock=False, owner_username="ach-owner")
    client.force_login(org.owner)
    seti = start(client, "us_bank_account")
    data = {"type": "us_bank_account", "billing_details": {"name": "Org"},
            "us_bank_account": {"routing_number": "110000000", "account_number": "000123456789"}}  # fmt: skip
    options = {"us_bank_account": {"verification_method": "microdeposits"}}
    browser_confirms(seti, data, mandate_data=ACCEPTANCE, payment_method_options=options)
    saved = client.post(reverse("selfserve:payment_method_saved"), {"setup_intent": seti})
    verify = reverse("selfserve:payment_method_verify", args=[seti])
    assert saved.url == verify
    assert "starts with <strong>SM</strong>" in client.get(verify).content.decode()
    bad_shape = client.post(verify, {"descriptor_code": "XX", "request_id": uuid.uuid4()})
    assert bad_shape.status_code == 400 and "starts with SM" in bad_shape.content.decode()
    wrong = client.post(verify, {"descriptor_code": "SM00AA", "request_id": uuid.uuid4()})
    assert wrong.status_code == 400 and "2 attempts left" in wrong.content.decode()
    right = client.post(verify, {"descriptor_code": "SM11AA", "request_id": uuid.uuid4()})
    assert right.url == reverse("selfserve:payment_methods")
    assert PaymentMethod.objects.get(customer__id=org.customer_id).stripe_data["type"] == "us_bank_account"

    failing = start(client, "us_bank_account")
    browser_confirms(failing, data, mandate_data=ACCEPTANCE, payment_method_options=options)
    url = reverse("selfserve:payment_method_verify", args=[failing])
    for _ in range(2):
        client.post(url, {"descriptor_code": "SM99ZZ", "request_id": uuid.uuid4()})
    last = client.post(url, {"descriptor_code": "SM99ZZ", "request_id": uuid.uuid4()}, follow=True)
    assert last.redirect_chain[-1][0] == reverse("selfserve:payment_methods")
    assert "exceeded the number of allowed verification attempts" in last.content.decode()
    assert client.get(url, follow=True).redirect_chain[-1][0] == reverse("selfserve:payment_methods")
    assert PaymentMethod.objects.filter(customer__id=org.customer_id).count() == 1


def test_two_subscriptions_charged_to_two_methods(client, sandbox):
    prices = world.catalog("usd").prices
    org = world.organisation("usd", owner_username="two-owner")  # a card, the default
    client.force_login(org.owner)
    seti = start(client, "us_bank_account")
    data = {"type": "us_bank_account", "billing_details": {"name": "Org"},
            "us_bank_account": {"routing_number": "110000000", "account_number": "000123456789"}}  # fmt: skip
    browser_confirms(seti, data, mandate_data=ACCEPTANCE)
    client.post(reverse("selfserve:payment_method_saved"), {"setup_intent": seti})  # not made the default
    bank = PaymentMethod.objects.get(customer__id=org.customer_id, stripe_data__type="us_bank_account").id
    first = world.subscribe(org, prices[("pro", "month")], 3)
    second = world.subscribe(org, prices[("business", "month")], 2)
    client.post(
        reverse("selfserve:subscription_payment_method", args=[second]),
        {"payment_method": bank, "request_id": uuid.uuid4()},
    )
    page = client.get(reverse("selfserve:payment_methods")).content.decode()
    assert "Pro monthly" in page and "Business+ monthly" in page
    world.advance(org, 32 * world.DAY)  # both renew; each is charged to its own method
    client_ = gateway()

    def charged_to(subscription_id):
        invoice = client_.get(f"/v1/invoices/{client_.get(f'/v1/subscriptions/{subscription_id}')['latest_invoice']}")
        intent = client_.get(f"/v1/payment_intents/{invoice['payments']['data'][-1]['payment']['payment_intent']}")
        return invoice["billing_reason"], intent["payment_method_types"][0]

    assert charged_to(first) == ("subscription_cycle", "card")
    assert charged_to(second) == ("subscription_cycle", "us_bank_account")
    # The bank account pays a plan: it cannot be removed until the plan moves to another method.
    refused = client.post(
        reverse("selfserve:payment_method_remove", args=[bank]), {"request_id": uuid.uuid4()}, follow=True
    )
    assert "This payment method pays Business+ monthly" in refused.content.decode()
    client.post(
        reverse("selfserve:subscription_payment_method", args=[second]),
        {"payment_method": "", "request_id": uuid.uuid4()},
    )
    client.post(reverse("selfserve:payment_method_remove", args=[bank]), {"request_id": uuid.uuid4()})
    assert not PaymentMethod.mirror.for_customer(org.customer_id).filter(id=bank).exists()
    assert CustomerRequest.objects.filter(kind="detach_payment_method", status="done").count() == 1


def test_payment_methods_page_queries_do_not_grow(client, sandbox, django_assert_max_num_queries):
    org = world.organisation("eur", clock=False, owner_username="q-owner")
    client.force_login(org.owner)
    with django_assert_max_num_queries(30) as one:
        client.get(reverse("selfserve:payment_methods"))
    for token in ("pm_card_mastercard", "pm_card_amex", "pm_card_visa"):
        method = gateway().post(
            f"/v1/payment_methods/{token}/attach", {"customer": org.customer_id}, idempotency_key=token
        )
        from billing.stripe import mirror

        mirror.apply_object(method)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(reverse("selfserve:payment_methods")).content.decode().count("Make default") == 3
