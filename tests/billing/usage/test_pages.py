"""Usage pages: who may open what, bad input never a 500, lists flat in queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from billing.usage import ingest
from billing.usage.keys import api_key_create
from billing.usage.models import ApiKey, UsageCorrection, UsagePeriod
from tests.pages import login

pytestmark = pytest.mark.django_db

FINANCE_PAGES = ["/usage/", "/usage/periods/", "/usage/meters/", "/usage/organisations/acme/"]


def _period(people, meter, **extra):
    now = timezone.now()
    defaults = dict(
        organisation=people.acme, meter=meter, customer_id="cus_acme", subscription_id="sub_1",
        subscription_item_id=f"si_{meter.key}", currency="usd", unit_amount=2, start=now - dt.timedelta(days=3),
        end=now + dt.timedelta(days=27),
    )  # fmt: skip
    defaults.update(extra)
    return UsagePeriod.objects.create(**defaults)


@pytest.mark.parametrize("path", FINANCE_PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 302),
        ("owner", 403),
        ("member", 403),
        ("outsider", 403),
        ("support", 200),
        ("analyst", 200),
        ("admin", 200),
    ],
)
def test_finance_pages(client, people, meters, path, who, status):
    _period(people, meters.calls)
    login(client, getattr(people, who) if who else None)
    assert client.get(path).status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 302),
        ("owner", 200),
        ("member", 200),
        ("outsider", 200),
        ("support", 403),
        ("analyst", 403),
        ("admin", 403),
    ],
)
def test_the_customer_usage_page(client, people, meters, who, status):
    _period(people, meters.calls)
    login(client, getattr(people, who) if who else None)
    response = client.get("/billing/usage/")
    assert response.status_code == status
    if who == "owner":
        assert b"Projected for the period" in response.content and b"API keys" in response.content
    if who == "member":
        assert b"Projected for the period" not in response.content and b"Create API key" not in response.content
    if who == "outsider":
        assert b"API calls" not in response.content  # Globex sees none of Acme's usage


def test_customer_keys_are_the_owners_and_another_organisations_key_is_404(client, people, meters):
    login(client, people.member)
    assert client.post("/billing/usage/keys/", {"name": "mine"}).status_code == 403
    login(client, people.owner)
    response = client.post("/billing/usage/keys/", {"name": "backend"})
    key = ApiKey.objects.get()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert key.prefix.encode() in response.content and b"shown this once" in response.content
    raw = response.content.split(b'id="new-key">')[1].split(b"<")[0].decode()
    assert raw.startswith("usk_") and key.digest != raw and raw not in str(ApiKey.objects.values())
    assert b"shown this once" not in client.get("/billing/usage/").content
    globex_key, _ = api_key_create(organisation=people.globex, name="x", actor=people.outsider)
    assert client.post(f"/billing/usage/keys/{globex_key.pk}/revoke/").status_code == 404
    assert client.post(f"/billing/usage/keys/{key.pk}/revoke/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


@pytest.mark.parametrize(("who", "status"), [("support", 403), ("analyst", 403), ("admin", 302), ("owner", 403)])
def test_corrections_are_for_finance_admins(client, people, meters, who, status):
    period = _period(people, meters.calls)
    login(client, getattr(people, who))
    response = client.post(f"/usage/periods/{period.pk}/correct/", {"quantity": "5", "reason": "missed batch"})
    assert response.status_code == status
    assert UsageCorrection.objects.exists() == (status == 302)


@pytest.mark.parametrize(
    "data",
    [
        {"quantity": "x", "reason": "r"},
        {"quantity": "0", "reason": "r"},
        {"quantity": "5", "reason": " "},
        {"quantity": "-99999", "reason": "too many"},
        {},
    ],
)
def test_a_bad_correction_is_a_message_not_a_500(client, people, meters, data):
    period = _period(people, meters.calls)
    login(client, people.admin)
    response = client.post(f"/usage/periods/{period.pk}/correct/", data, follow=True)
    assert response.status_code == 200
    assert b"flash-error" in response.content
    assert not UsageCorrection.objects.exists()


def test_finance_keys_and_meter_form(client, people, meters):
    login(client, people.analyst)
    assert client.post("/usage/organisations/acme/keys/", {"name": "x"}).status_code == 403
    assert client.post("/usage/meters/", {"key": "x"}).status_code == 403
    login(client, people.admin)
    assert client.post("/usage/organisations/acme/keys/", {"name": "finance-made"}).status_code == 200
    response = client.post("/usage/meters/", {"key": "bad key!", "name": "", "prices": "usd 0.001"})
    assert response.status_code == 200 and b"errorlist" in response.content
    assert client.post("/usage/organisations/nope/keys/", {"name": "x"}).status_code == 404


def test_the_periods_list_is_flat_in_queries_and_filters_safely(client, people, meters, django_assert_max_num_queries):
    login(client, people.analyst)
    _period(people, meters.calls)
    with django_assert_max_num_queries(30) as few:
        client.get("/usage/periods/")
    for n in range(20):
        _period(
            people,
            meters.runs,
            start=timezone.now() - dt.timedelta(days=40 + n),
            end=timezone.now() - dt.timedelta(days=10 + n),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/usage/periods/")
    for query in ("?q=%00", "?meter=nope", "?status=maybe", "?sort=drop", "?page=99", "?format=csv"):
        assert client.get("/usage/periods/" + query).status_code == 200


def test_the_organisation_page_shows_live_usage(client, people, meters):
    _period(people, meters.calls)
    ingest.ingest(
        people.acme,
        [{"id": "a", "meter": "api_calls", "value": 1234, "timestamp": int(timezone.now().timestamp()) - 60}],
    )
    login(client, people.support)
    response = client.get("/usage/organisations/acme/")
    assert b"1,234" in response.content and b"$24.68" in response.content
    assert b"Record correction" not in response.content  # support reads only


@pytest.mark.parametrize(
    ("who", "finance_status", "customer_status"),
    [
        ("owner", 403, 200),
        ("member", 403, 403),
        ("outsider", 403, 404),
        ("support", 200, 403),
        ("analyst", 200, 403),
        ("admin", 200, 403),
    ],
)
def test_the_explainer(client, people, who, finance_status, customer_status):
    from tests.pages import mirror_customer

    mirror_customer("cus_acme")
    login(client, getattr(people, who))
    assert client.get("/usage/explain/in_cus_acme_0_0/").status_code == finance_status
    assert client.get("/billing/usage/explain/in_cus_acme_0_0/").status_code == customer_status
    assert client.get("/billing/usage/explain/in_nope/").status_code in (403, 404)
