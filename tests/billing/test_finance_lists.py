"""The invoice, subscription, payment and audit lists: filters that mean what they say, flat queries."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.audit import audit
from billing.stripe import mirror
from tests import stripe_payloads as sp
from tests.pages import login, mirror_customer

pytestmark = pytest.mark.django_db
NOW = int(dt.datetime.now(dt.UTC).timestamp())


def invoice(inv_id, *, currency="eur", amount=4_000, status="open", attempts=0, due=None, customer="cus_acme"):
    data = sp.invoice(
        inv_id,
        customer_id=customer,
        status=status,
        amount_due=amount,
        currency=currency,
        attempt_count=attempts,
        created=NOW - 86400,
    )
    data["due_date"] = due
    data["number"] = inv_id.upper()
    mirror.apply_event(sp.event(data, "invoice.updated", created=NOW))


@pytest.fixture
def invoices(people):
    mirror_customer("cus_acme", invoices=0)
    mirror_customer("cus_globex", invoices=0)
    invoice("in_eur_late", attempts=2)  # charged automatically, failed twice: past due
    invoice("in_eur_net30", due=NOW - 5 * 86400, amount=900_000)  # terms, due date passed
    invoice("in_eur_fresh", due=NOW + 20 * 86400)  # open, not yet due
    invoice("in_usd_late", currency="usd", attempts=1, customer="cus_globex")
    invoice("in_jpy_paid", currency="jpy", amount=10_500, status="paid")
    invoice("in_kwd_open", currency="kwd", amount=2_700, customer="cus_globex")
    return people


def listed(client, name, **params) -> set[str]:
    page = client.get(reverse(name), params).content.decode()
    return {
        i
        for i in ("in_eur_late", "in_eur_net30", "in_eur_fresh", "in_usd_late", "in_jpy_paid", "in_kwd_open")
        if f"{i.upper()}<" in page
    }


def test_invoice_filters_past_due_eur_and_friends(client, invoices):
    login(client, invoices.analyst)
    assert listed(client, "invoices:list", past_due="yes", currency="eur") == {"in_eur_late", "in_eur_net30"}
    assert listed(client, "invoices:list", status="paid") == {"in_jpy_paid"}
    assert listed(client, "invoices:list", segment="enterprise") == set()
    # "100" means €100.00, ¥100 and KD 100.000: each currency in its own minor units.
    assert listed(client, "invoices:list", amount_min="20", amount_max="100") == {
        "in_eur_late",
        "in_eur_fresh",
        "in_usd_late",
    }  # KD 2.700 is not between 20 and 100
    assert listed(client, "invoices:list", amount_min="2.5", amount_max="3") == {"in_kwd_open"}
    assert listed(client, "invoices:list", amount_min="1000") == {"in_eur_net30", "in_jpy_paid"}
    assert listed(client, "invoices:list", country="DE", q="in_eur_fresh") == {"in_eur_fresh"}


def test_an_upside_down_range_is_a_message(client, invoices):
    login(client, invoices.analyst)
    page = client.get(reverse("invoices:list"), {"amount_min": "100", "amount_max": "5"}).content.decode()
    assert "minimum amount is above the maximum" in page
    page = client.get(reverse("invoices:list"), {"due_from": "2026-05-01", "due_to": "2026-01-01"}).content.decode()
    assert "ends before it starts" in page


def test_invoice_list_query_count_is_flat(client, invoices, django_assert_max_num_queries):
    login(client, invoices.analyst)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("invoices:list"))
    for n in range(30):
        invoice(f"in_more_{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("invoices:list"))


@pytest.mark.parametrize("name", ["subscriptions:list", "payments:list", "audit:log", "customers:list"])
def test_other_lists_have_flat_query_counts(client, people, name, django_assert_max_num_queries):
    login(client, people.analyst)
    mirror_customer("cus_acme")
    audit(people.admin, "test.thing", object_id="cus_acme")
    with django_assert_max_num_queries(20) as few:
        assert client.get(reverse(name)).status_code == 200
    for n in range(10):
        mirror_customer(f"cus_more{n}", subscriptions=2)
        audit(people.admin, "test.thing", object_id=f"cus_more{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse(name))


def test_subscription_filters(client, people):
    mirror_customer("cus_acme")
    annual = sp.price("price_annual", product_id="prod_pro", interval="year", unit_amount=8000)
    sub = sp.subscription("sub_ending", customer_id="cus_globex", the_price=annual)
    sub["cancel_at_period_end"] = True
    mirror.apply_event(sp.event(sp.customer("cus_globex"), "customer.created", created=100))
    mirror.apply_event(sp.event(sub, "customer.subscription.updated", created=NOW))
    login(client, people.support)
    page = client.get(reverse("subscriptions:list"), {"interval": "year"}).content.decode()
    assert "sub_ending" in page and "sub_cus_acme_0" not in page
    page = client.get(reverse("subscriptions:list"), {"ending": "no"}).content.decode()
    assert "sub_ending" not in page and "sub_cus_acme_0" in page


def test_payment_filters_by_result_method_and_failure(client, people):
    mirror_customer("cus_acme")
    ok = {
        "id": "ch_ok",
        "object": "charge",
        "customer": "cus_acme",
        "amount": 5000,
        "currency": "eur",
        "status": "succeeded",
        "created": NOW,
        "livemode": False,
        "payment_method_details": {"type": "sepa_debit"},
        "metadata": {},
    }
    bad = {
        **ok,
        "id": "ch_bad",
        "status": "failed",
        "failure_code": "card_declined",
        "failure_message": "Your card was declined.",
        "payment_method_details": {"type": "card"},
    }
    for charge in (ok, bad):
        mirror.apply_event(sp.event(charge, f"charge.{charge['status']}", created=NOW))
    login(client, people.support)
    page = client.get(reverse("payments:list"), {"failure": "card_declined"}).content.decode()
    assert "ch_bad" in page and "ch_ok" not in page and "Your card was declined." in page
    page = client.get(reverse("payments:list"), {"method": "sepa_debit", "status": "succeeded"}).content.decode()
    assert "ch_ok" in page and "ch_bad" not in page


def test_audit_log_search_by_actor_object_and_organisation(client, people):
    audit(
        people.admin,
        "invoice.void",
        object_type="djstripe.invoice",
        object_id="in_1",
        organisation=people.acme,
        reason="duplicate",
        before={"status": "open"},
        after={"status": "void"},
    )
    audit(people.support, "invoice.send", object_type="djstripe.invoice", object_id="in_2", organisation=people.globex)
    login(client, people.analyst)
    page = client.get(reverse("audit:log"), {"actor": "admin"}).content.decode()
    assert '"mono small">invoice.void<' in page and '"mono small">invoice.send<' not in page and "duplicate" in page
    assert "in_2" in client.get(reverse("audit:log"), {"organisation": "Globex"}).content.decode()
    assert '"mono small">invoice.void<' not in client.get(reverse("audit:log"), {"object": "in_2"}).content.decode()


def test_the_dashboard_renders_for_every_finance_role(client, people):
    for who in (people.support, people.analyst, people.admin):
        login(client, who)
        page = client.get(reverse("reports:dashboard")).content.decode()
        assert "MRR" in page and "Show as a table" in page and "Revenue collected" in page
