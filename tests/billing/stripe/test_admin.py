import pytest
from django.contrib import admin
from django.urls import reverse

from tests.pages import mirror_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")


def changelist_urls():
    return [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]


def test_every_changelist_opens_with_dahlia_data(client, superuser):
    mirror_customer("cus_acme", subscriptions=2, invoices=2)
    client.force_login(superuser)
    broken = []
    for url in changelist_urls():
        response = client.get(url)
        if response.status_code != 200:
            broken.append((url, response.status_code))
    assert not broken


@pytest.mark.parametrize("model", ["customer", "subscription", "invoice", "subscriptionitem", "lineitem", "price"])
def test_mirror_changelists_do_not_query_per_row(client, superuser, model, django_assert_max_num_queries):
    client.force_login(superuser)
    url = reverse(f"admin:djstripe_{model}_changelist")
    mirror_customer("cus_0", subscriptions=1, invoices=1)
    with django_assert_max_num_queries(20) as few:
        assert client.get(url).status_code == 200
    for n in range(1, 15):
        mirror_customer(f"cus_{n}", subscriptions=2, invoices=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


def test_mirror_detail_page_and_search(client, superuser):
    mirror_customer("cus_acme")
    client.force_login(superuser)
    from djstripe.models import Customer

    pk = Customer.objects.get(id="cus_acme").pk
    assert client.get(reverse("admin:djstripe_customer_change", args=[pk])).status_code == 200
    found = client.get(reverse("admin:djstripe_customer_changelist"), {"q": "cus_acme"})
    assert b"cus_acme" in found.content
    by_email = client.get(reverse("admin:djstripe_customer_changelist"), {"q": "cus_acme@x.example"})
    assert b"cus_acme" in by_email.content


def test_mirror_is_read_only_in_the_admin(client, superuser):
    client.force_login(superuser)
    assert client.get(reverse("admin:djstripe_customer_add")).status_code == 403


def test_webhook_secret_is_never_shown(client, superuser, settings):
    from billing.stripe.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        stripe_id="we_1", url="http://127.0.0.1/", api_base="x", api_version="v", secret="whsec_dontshowme"
    )
    client.force_login(superuser)
    page = client.get(reverse("admin:billing_stripe_webhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200 and b"whsec_dontshowme" not in page.content
