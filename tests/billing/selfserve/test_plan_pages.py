"""The plan pages against the sandbox: preview, confirm, what came of it; cancel and resume; the payment
method of a subscription; and every kind of bad input answered on the page, with nothing sent twice."""

import re
import uuid

import pytest
from django.core import signing
from django.urls import reverse
from djstripe.models import Subscription

from accounts.models import AuditLog
from billing.selfserve.views import PREVIEW_SALT
from billing.subscriptions.models import ChangeStatus, SubscriptionChange
from tests import billing_world as world

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(sandbox):
    prices = world.catalog("usd", max_quantity=50).prices
    org = world.organisation("usd", owner_username="boss")
    world.subscribe(org, prices[("pro", "month")], 4)
    world.advance(org, 10 * world.DAY)
    return prices, org


def preview(client, org, price, quantity, **headers):
    url = reverse("selfserve:change_preview", args=[org.subscription_id])
    return client.get(url, {"price": price, "quantity": quantity}, **headers)


def confirm_form(page: bytes) -> dict:
    html = page.decode()
    return {
        name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
        for name in ("token", "request_id", "price", "quantity")
    }


def test_upgrade_from_preview_to_invoice(client, shop, stripe_calls):
    prices, org = shop
    client.force_login(org.owner)
    fragment = preview(client, org, prices[("business", "month")], 4, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and b"<html" not in fragment.content  # the live preview's fragment
    text = fragment.content.decode()
    assert "Upgrade" in text and "Due today" in text and "Takes effect now" in text
    due = re.search(r"data-amount-due>([^<]+)<", text).group(1)
    form = confirm_form(fragment.content)
    stripe_calls.clear()
    done = client.post(reverse("selfserve:change_confirm", args=[org.subscription_id]), form)
    assert done.status_code == 302
    result = client.get(done.url).content.decode()
    assert "Done: your plan is now Business+ monthly × 4" in result and due in result
    again = client.post(reverse("selfserve:change_confirm", args=[org.subscription_id]), form)  # a double submit
    assert again.url == done.url
    assert len([c for c in stripe_calls if c[1] == f"/v1/subscriptions/{org.subscription_id}"]) == 1
    assert SubscriptionChange.objects.get().status == ChangeStatus.applied
    assert AuditLog.objects.filter(action="subscription.change").count() == 1


def test_a_downgrade_is_scheduled_and_can_be_taken_back(client, shop):
    prices, org = shop
    client.force_login(org.owner)
    page = preview(client, org, prices[("pro", "month")], 2)
    text = page.content.decode()
    assert page.status_code == 200 and "At renewal" in text and "Nothing is charged now" in text
    assert "Schedule for" in text
    done = client.post(reverse("selfserve:change_confirm", args=[org.subscription_id]), confirm_form(page.content))
    assert "Scheduled: from" in client.get(done.url).content.decode()
    plan = client.get(reverse("selfserve:plan")).content.decode()
    assert "this plan changes to" in plan and "Pro monthly" in plan and "× 2 seats" in plan
    client.post(reverse("selfserve:scheduled_cancel", args=[org.subscription_id]), {"request_id": uuid.uuid4()})
    assert "this plan changes to" not in client.get(reverse("selfserve:plan")).content.decode()
    assert SubscriptionChange.objects.get(kind="plan").status == ChangeStatus.canceled


@pytest.mark.parametrize(
    ("price", "quantity", "message"),
    [
        ("price_tampered", 4, "not one you can choose"),
        ("month", 0, "at least one seat"),
        ("month", 51, "at most 50 seats"),
        ("month", "lots", "whole number"),
    ],
)
def test_bad_input_is_a_message_on_the_page(client, shop, stripe_calls, price, quantity, message):
    prices, org = shop
    client.force_login(org.owner)
    price_id = prices[("business", "month")] if price == "month" else price
    stripe_calls.clear()
    page = preview(client, org, price_id, quantity)
    assert page.status_code == 400 and message in page.content.decode()
    assert stripe_calls == []


def test_a_tampered_or_stale_confirmation_changes_nothing(client, shop, stripe_calls):
    prices, org = shop
    client.force_login(org.owner)
    form = confirm_form(preview(client, org, prices[("business", "month")], 4).content)
    url = reverse("selfserve:change_confirm", args=[org.subscription_id])
    stripe_calls.clear()
    tampered = client.post(url, {**form, "token": form["token"][:-3] + "abc"}, follow=True)
    assert "could not be read" in tampered.content.decode()
    payload = signing.loads(form["token"], salt=PREVIEW_SALT)
    other_price = signing.dumps({**payload, "p": "price_tampered"}, salt=PREVIEW_SALT)  # signed, but not on offer
    refused = client.post(url, {**form, "token": other_price}, follow=True)
    assert "not one you can choose" in refused.content.decode()
    old = signing.dumps({**payload, "t": payload["t"] - 3600}, salt=PREVIEW_SALT)  # its proration date is stale
    expired = client.post(url, {**form, "token": old}, follow=True)
    assert "expired" in expired.content.decode() and "Due today" in expired.content.decode()  # a fresh preview
    assert not [c for c in stripe_calls if c[0] == "POST" and c[1].startswith("/v1/subscriptions")]
    assert not SubscriptionChange.objects.exists()


def test_cancel_at_period_end_shows_the_date_and_what_happens_to_data_then_resume(client, shop):
    prices, org = shop
    client.force_login(org.owner)
    page = client.get(reverse("selfserve:cancel", args=[org.subscription_id])).content.decode()
    assert "Your plan ends on" in page and "Your data stays." in page and "Resume" in page
    client.post(reverse("selfserve:cancel", args=[org.subscription_id]), {"request_id": uuid.uuid4()})
    assert Subscription.objects.get(id=org.subscription_id).stripe_data["cancel_at_period_end"] is True
    plan = client.get(reverse("selfserve:plan")).content.decode()
    assert "This plan ends on" in plan and "Change plan, seats" not in plan
    client.post(reverse("selfserve:resume", args=[org.subscription_id]), {"request_id": uuid.uuid4()})
    assert Subscription.objects.get(id=org.subscription_id).stripe_data["cancel_at_period_end"] is False
    assert list(
        AuditLog.objects.filter(action__startswith="subscription.").order_by("id").values_list("action", flat=True)
    ) == [
        "subscription.create",
        "subscription.cancel_at_period_end",
        "subscription.resume",
    ]


def test_plan_page_queries_do_not_grow_with_subscriptions(client, shop, django_assert_max_num_queries):
    prices, org = shop
    client.force_login(org.owner)
    with django_assert_max_num_queries(40) as one:
        client.get(reverse("selfserve:plan"))
    for n in range(3):
        world.subscribe(org, prices[("business", "year")], 2 + n)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(reverse("selfserve:plan")).content.decode().count("Change plan, seats") == 4


def test_a_preview_of_a_plan_that_changed_since_is_shown_again(client, shop, stripe_calls):
    prices, org = shop
    client.force_login(org.owner)
    stale = confirm_form(preview(client, org, prices[("business", "month")], 4).content)
    first = confirm_form(preview(client, org, prices[("pro", "month")], 6).content)
    client.post(reverse("selfserve:change_confirm", args=[org.subscription_id]), first)  # 4 → 6 seats, now
    response = client.post(reverse("selfserve:change_confirm", args=[org.subscription_id]), stale, follow=True)
    page = re.sub(r"\s+", " ", response.content.decode())
    assert "Your plan changed since this preview" in page and "Pro monthly × 6 → Business+ monthly × 4" in page
    assert SubscriptionChange.objects.count() == 1


def test_plans_on_an_agreement_with_sales_are_not_changed_here(client, sandbox, stripe_calls):
    prices = world.catalog("usd").prices
    org = world.organisation("usd", card=None, clock=False, owner_username="grid-owner")
    world.subscribe(org, prices[("business", "year")], 300, send_invoice_days=30)
    client.force_login(org.owner)
    plan = client.get(reverse("selfserve:plan")).content.decode()
    assert (
        "agreement with our sales team" in plan and "Change plan, seats" not in plan and "Cancel this plan" not in plan
    )
    refused = preview(client, org, prices[("business", "year")], 301)
    assert refused.status_code == 400 and "account manager" in refused.content.decode()
