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
