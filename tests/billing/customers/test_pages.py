import pytest
from django.urls import reverse

from tests.pages import login, mirror_customer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("owner", 403), ("outsider", 403), ("support", 200), ("analyst", 200), ("admin", 200)],
)
def test_customer_list_is_for_the_finance_team(client, people, who, status):
    mirror_customer("cus_acme")
    login(client, getattr(people, who) if who else None)
    response = client.get(reverse("customers:list"))
    assert response.status_code == status
    if status == 200:
        assert b"Acme" in response.content and b"cus_acme" in response.content


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("owner", 403), ("outsider", 403), ("support", 200), ("admin", 200)],
)
def test_customer_detail_is_for_the_finance_team(client, people, who, status):
    mirror_customer("cus_acme")
    login(client, getattr(people, who) if who else None)
    response = client.get(reverse("customers:detail", args=["cus_acme"]))
    assert response.status_code == status
    if status == 200:
        assert b"sub_cus_acme_0" in response.content


def test_unknown_customer_is_404(client, people):
    login(client, people.analyst)
    assert client.get(reverse("customers:detail", args=["cus_nope"])).status_code == 404


def test_search_finds_by_email_name_and_id(client, people):
    mirror_customer("cus_acme")
    mirror_customer("cus_globex")
    login(client, people.support)
    for query in ("cus_globex", "globex@x", "Globex"):
        response = client.get(reverse("customers:list"), {"q": query})
        assert b"cus_globex" in response.content, query
        assert b"cus_acme<" not in response.content


def test_list_fragment_for_htmx(client, people):
    mirror_customer("cus_acme")
    login(client, people.support)
    response = client.get(reverse("customers:list"), {"q": "acme"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content and b"cus_acme" in response.content


def test_customer_list_query_count_does_not_grow_with_rows(client, people, django_assert_max_num_queries):
    login(client, people.analyst)
    mirror_customer("cus_acme")
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("customers:list"))
    for n in range(30):
        mirror_customer(f"cus_{n:03d}", subscriptions=2)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("customers:list"))
    assert response.content.count(b'href="/customers/cus_0') >= 30


def test_customer_detail_query_count_does_not_grow(client, people, django_assert_max_num_queries):
    login(client, people.analyst)
    mirror_customer("cus_acme", subscriptions=1, invoices=1)
    # 15 for the page, 4 for the "Tax treatment" panel (settings, registrations, status, tax IDs).
    with django_assert_max_num_queries(19) as small:
        client.get(reverse("customers:detail", args=["cus_acme"]))
    mirror_customer("cus_acme", subscriptions=4, invoices=5)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("customers:detail", args=["cus_acme"]))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "%00"}, None),  # a literal "%00" typed into the box is text, not a wildcard
        ({"q": "\x00"}, "Null characters are not allowed"),
        ({"q": "acme\x00"}, "Null characters are not allowed"),
        ({"country": "\x00"}, "valid choice"),
        ({"q": "a" * 3000}, "at most 200 characters"),
    ],
)
def test_a_search_that_cannot_run_finds_nobody_and_says_why(client, people, params, message):
    mirror_customer("cus_acme")
    mirror_customer("cus_globex")
    login(client, people.support)
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.get(reverse("customers:list"), params, **headers)
        assert response.status_code == 200
        assert b"cus_acme" not in response.content and b"cus_globex" not in response.content
        if message:
            assert message in response.content.decode()


def test_the_search_box_caps_what_can_be_typed(client, people):
    login(client, people.support)
    assert b'maxlength="200"' in client.get(reverse("customers:list")).content


def test_metered_items_read_by_usage_not_times_none(client, people):
    from billing.stripe import mirror
    from tests import stripe_payloads as sp

    mirror_customer("cus_acme")
    metered = sp.price("price_runs_usd", product_id="prod_runs", unit_amount=5)
    metered["recurring"] = {**metered["recurring"], "usage_type": "metered", "meter": "mtr_runs"}
    metered["nickname"] = "Workflow runs"
    items = [
        sp.subscription_item("sub_cus_acme_0", sp.price("price_pro_monthly_usd"), 5, 1_760_000_000),
        {**sp.subscription_item("sub_cus_acme_0", metered, 0, 1_760_000_000), "quantity": None},
    ]
    sub = sp.subscription("sub_cus_acme_0", customer_id="cus_acme", items=items)
    mirror.apply_event(sp.event(sub, "customer.subscription.updated", created=1_900_000_000))
    login(client, people.analyst)
    for url in (reverse("customers:detail", args=["cus_acme"]), reverse("subscriptions:list")):
        content = client.get(url).content.decode()
        assert "× None" not in content and "Workflow runs" in content and "by usage" in content
