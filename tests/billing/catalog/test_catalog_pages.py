import pytest
from django.urls import reverse
from djstripe.models import Price

from accounts.models import AuditLog
from billing.catalog.models import SelfServeOffer
from billing.catalog.selectors import offers
from billing.catalog.services import product_create
from tests.pages import login

pytestmark = pytest.mark.django_db


def test_an_admin_creates_offers_and_archives_a_price(client, people, sandbox):
    product = product_create(key="pro", name="Pro")
    login(client, people.admin)
    form = {
        "product": product["id"],
        "currency": "kwd",
        "amount": "2.750",
        "interval": "month",
        "lookup_key": "pro_monthly_kwd",
        "nickname": "Pro monthly",
    }
    page = client.post(reverse("catalog:price-create"), form, follow=True).content.decode()
    assert "created" in page
    price = Price.objects.get(lookup_key="pro_monthly_kwd")
    assert price.stripe_data["unit_amount"] == 2750  # three decimals
    client.post(
        reverse("catalog:price-offer", args=[price.id]), {"offered": "1", "position": "5", "max_quantity": "50"}
    )
    assert [o.price.id for o in offers(currency="kwd")] == [price.id]
    assert SelfServeOffer.objects.get().max_quantity == 50
    page = client.get(reverse("catalog:catalog")).content.decode()
    assert "KWD 2.750" in page and "#5" in page
    client.post(reverse("catalog:price-archive", args=[price.id]))
    assert Price.objects.get(id=price.id).stripe_data["active"] is False
    assert offers(currency="kwd") == []
    assert {"price.create", "price.offer", "price.archive"} <= set(AuditLog.objects.values_list("action", flat=True))


@pytest.mark.parametrize(
    ("amount", "message"), [("2.7501", "decimal places"), ("abc", "amount like"), ("0", "more than zero")]
)
def test_bad_prices_are_explained_and_nothing_is_sent(client, people, amount, message, stripe_calls):
    login(client, people.admin)
    form = {"product": "prod_x", "currency": "kwd", "amount": amount, "interval": "month", "lookup_key": "k"}
    page = client.post(reverse("catalog:price-create"), form, follow=True).content.decode()
    assert message in page or "Select a valid choice" in page
    assert stripe_calls == []
