import pytest
from django.urls import reverse

from tests.pages import login, mirror_customer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("who", "status"), [(None, 302), ("owner", 200), ("member", 200), ("admin", 403)])
def test_billing_page_access(client, people, who, status):
    mirror_customer("cus_acme")
    login(client, getattr(people, who) if who else None)
    assert client.get(reverse("selfserve:overview")).status_code == status


def test_a_customer_sees_only_their_own_billing(client, people):
    mirror_customer("cus_acme")
    mirror_customer("cus_globex")
    login(client, people.outsider)
    response = client.get(reverse("selfserve:overview"))
    assert b"Globex" in response.content
    assert b"cus_acme" not in response.content and b"in_cus_acme" not in response.content


def test_billing_page_shows_plan_and_invoices(client, people):
    mirror_customer("cus_acme", invoices=2)
    login(client, people.owner)
    content = client.get(reverse("selfserve:overview")).content.decode()
    assert "Pro monthly" in content and "5 seats" in content
    assert "$43.75" in content  # 5 × $8.75, in the invoice table


def test_billing_page_before_any_plan(client, people):
    login(client, people.owner)
    assert b"no billing account yet" in client.get(reverse("selfserve:overview")).content


def test_billing_page_query_count_is_fixed(client, people, django_assert_max_num_queries):
    login(client, people.owner)
    mirror_customer("cus_acme", invoices=1)
    with django_assert_max_num_queries(15) as small:
        client.get(reverse("selfserve:overview"))
    mirror_customer("cus_acme", subscriptions=3, invoices=6)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("selfserve:overview"))


@pytest.mark.parametrize(("role", "sees_billing"), [("owner", True), ("billing_admin", True), ("member", False)])
def test_only_owners_and_billing_admins_see_billing(client, people, role, sees_billing):
    from accounts.models import Membership

    mirror_customer("cus_acme", invoices=2)
    Membership.objects.filter(user=people.member).update(role=role)
    login(client, people.member)
    page = client.get(reverse("selfserve:overview")).content.decode()
    assert "Pro monthly" in page and "5 seats" in page  # the plan, for everyone
    billing = [
        "in_cus_acme_0_0",
        "<h2>Payment methods</h2>",
        "<h2>Invoices</h2>",
        "<h2>Billing details</h2>",
        "cus_acme@x",
    ]
    if sees_billing:
        assert all(text in page for text in billing)
        assert "shown to your organisation's owners and billing admins" not in page
    else:
        assert not any(text in page for text in billing)
        assert "shown to your organisation's owners and billing admins" in page


def test_a_metered_item_reads_as_usage_not_as_none_seats(client, people):
    from billing.stripe import mirror
    from tests import stripe_payloads as sp

    mirror_customer("cus_acme")
    seats = sp.price("price_pro_monthly_usd", product_id="prod_pro")
    metered = sp.price("price_calls_usd", product_id="prod_calls", unit_amount=2)
    metered["recurring"] = {**metered["recurring"], "usage_type": "metered", "meter": "mtr_calls"}
    metered["nickname"] = "API calls"
    items = [
        {**sp.subscription_item("sub_cus_acme_0", metered, 0, 1_760_000_000), "quantity": None},
        sp.subscription_item("sub_cus_acme_0", seats, 5, 1_760_000_000),
    ]
    mirror.apply_event(
        sp.event(
            sp.subscription("sub_cus_acme_0", customer_id="cus_acme", items=items),
            "customer.subscription.updated",
            created=1_900_000_000,
        )
    )
    login(client, people.owner)
    overview = client.get(reverse("selfserve:overview")).content.decode()
    plan = client.get(reverse("selfserve:plan")).content.decode()
    assert "None seat" not in overview and "None seat" not in plan
    assert "API calls" in overview and "billed on usage" in overview
    assert "<strong>5</strong> seats" in plan  # the plan card is the seat item, not the meter
