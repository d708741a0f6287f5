"""The risk pages: support and analysts read, admins decide, customers never see them; lists keep
their query count flat; bad input gets a message on the page, never a 500."""

import uuid

import pytest
from django.urls import reverse

from billing.risk.models import BlockListEntry, DisputeCase, RiskPolicy, SyncStatus
from tests import stripe_payloads as sp
from tests.billing.risk.payloads import charge, deliver, dispute, review, warning
from tests.pages import login

pytestmark = pytest.mark.django_db

T = 1_760_000_000
READERS = [
    (None, 302),
    ("owner", 403),
    ("member", 403),
    ("outsider", 403),
    ("support", 200),
    ("analyst", 200),
    ("admin", 200),
]
DECIDERS = [(None, 302), ("owner", 403), ("member", 403), ("outsider", 403), ("support", 403), ("analyst", 403)]


def one_of_each(n: int = 1, *, prefix: str = "x") -> None:
    for i in range(n):
        customer = f"cus_{prefix}{i}"
        deliver(sp.customer(customer, email=f"pay@{prefix}{i}.example", country="FR"), "customer.created", T)
        deliver(charge(f"ch_{prefix}{i}", customer=customer), "charge.succeeded", T)
        deliver(review(f"prv_{prefix}{i}", charge_id=f"ch_{prefix}{i}"), "review.opened", T + 1)
        deliver(warning(f"issfr_{prefix}{i}", charge_id=f"ch_{prefix}{i}"), "radar.early_fraud_warning.created", T + 2)
        deliver(dispute(f"dp_{prefix}{i}", charge_id=f"ch_{prefix}{i}"), "charge.dispute.created", T + 3)
        BlockListEntry.objects.create(
            kind="email", value=f"pay@{prefix}{i}.example", reason="test", sync_status=SyncStatus.synced
        )


@pytest.fixture
def cases(people):
    deliver(sp.customer("cus_acme", email="billing@acme.example"), "customer.created", T)
    deliver(charge("ch_acme"), "charge.succeeded", T)
    deliver(review("prv_acme", charge_id="ch_acme"), "review.opened", T + 1)
    deliver(warning("issfr_acme", charge_id="ch_acme"), "radar.early_fraud_warning.created", T + 2)
    deliver(dispute("dp_acme", charge_id="ch_acme", reason="subscription_canceled"), "charge.dispute.created", T + 3)
    BlockListEntry.objects.create(kind="email_domain", value="fraud.example", reason="Ring", sync_status="synced")


PAGES = [
    ("risk:reviews", [], b"Acme"),
    ("risk:review", ["prv_acme"], b"Who this is to us"),
    ("risk:warnings", [], b"issfr_acme"),
    ("risk:disputes", [], b"dp_acme"),
    ("risk:dispute", ["dp_acme"], b"Subscription canceled"),
    ("risk:analytics", [], b"By reason"),
    ("risk:blocklist", [], b"fraud.example"),
]


@pytest.mark.parametrize(("who", "status"), READERS)
@pytest.mark.parametrize(("name", "args", "marker"), PAGES)
def test_pages_are_for_the_finance_team_only(client, people, cases, who, status, name, args, marker):
    login(client, getattr(people, who) if who else None)
    response = client.get(reverse(name, args=args))
    assert response.status_code == status
    if status == 200:
        assert marker in response.content


POSTS = [
    ("risk:review_decide", ["prv_acme"], {"kind": "approve", "reason": "x"}),
    ("risk:reviews_bulk", [], {"kind": "approve", "reason": "x", "review": "prv_acme"}),
    ("risk:policy", [], {"auto_refund": "on", "refund_below": "100"}),
    ("risk:warning_refund", ["issfr_acme"], {"reason": "x"}),
    ("risk:dispute_evidence", ["dp_acme"], {"action": "save", "customer_name": "x"}),
    ("risk:dispute_upload", ["dp_acme"], {"field": "receipt"}),
    ("risk:dispute_accept", ["dp_acme"], {"reason": "x"}),
    ("risk:blocklist_add", [], {"kind": "email", "value": "a@b.example", "reason": "x"}),
]


@pytest.mark.parametrize(("who", "status"), DECIDERS)
@pytest.mark.parametrize(("name", "args", "data"), POSTS)
def test_only_finance_admins_decide(client, people, cases, stripe_calls, who, status, name, args, data):
    login(client, getattr(people, who) if who else None)
    response = client.post(reverse(name, args=args), {**data, "request_id": str(uuid.uuid4())})
    assert response.status_code == status
    assert not stripe_calls and not RiskPolicy.objects.exists()
    assert BlockListEntry.objects.count() == 1


def test_readers_see_no_decision_forms(client, people, cases):
    login(client, people.support)
    page = client.get(reverse("risk:review", args=["prv_acme"])).content
    assert b"Finance admins decide reviews" in page and b"Refund and block" not in page
    assert b"bulk-form" not in client.get(reverse("risk:reviews")).content
    login(client, people.admin)
    page = client.get(reverse("risk:review", args=["prv_acme"])).content
    assert b"Refund and block" in page and b'name="request_id"' in page


def test_unknown_objects_are_404(client, people):
    login(client, people.admin)
    assert client.get(reverse("risk:review", args=["prv_nope"])).status_code == 404
    assert client.get(reverse("risk:dispute", args=["dp_nope"])).status_code == 404
    assert client.post(reverse("risk:warning_refund", args=["issfr_nope"]), {"reason": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("risk:reviews", b'href="/risk/reviews/prv_x'),
        ("risk:warnings", b"issfr_x"),
        ("risk:disputes", b'href="/risk/disputes/dp_x'),
        ("risk:blocklist", b"pay@x"),
    ],
)
def test_lists_keep_their_query_count_flat(client, people, django_assert_max_num_queries, name, marker):
    from django.core.cache import cache

    login(client, people.analyst)
    one_of_each(1)
    cache.clear()  # the backlog banner's count is cached for 5 s: both pages count it
    with django_assert_max_num_queries(20) as small:
        client.get(reverse(name))
    one_of_each(25, prefix="y")
    cache.clear()
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse(name), {"status": "all"} if name != "risk:warnings" else {})
    assert response.content.count(marker[:-1]) >= 26


def test_detail_pages_keep_their_query_count_flat(client, people, cases, django_assert_max_num_queries):
    from django.core.cache import cache

    login(client, people.admin)
    cache.clear()
    with django_assert_max_num_queries(40) as small:
        client.get(reverse("risk:review", args=["prv_acme"]))
    for i in range(5):
        deliver(charge(f"ch_more{i}"), "charge.succeeded", T + 10)
        deliver(dispute(f"dp_more{i}", charge_id=f"ch_more{i}"), "charge.dispute.created", T + 11)
    cache.clear()
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("risk:review", args=["prv_acme"]))


def test_lists_filter_and_export(client, people, cases):
    login(client, people.analyst)
    assert b"prv_acme" in client.get(reverse("risk:reviews"), {"mismatch": "yes", "risk": "elevated"}).content
    assert b"prv_acme" not in client.get(reverse("risk:reviews"), {"status": "closed"}).content
    assert b"prv_acme" not in client.get(reverse("risk:reviews"), {"amount_min": "60"}).content
    assert b"dp_acme" in client.get(reverse("risk:disputes"), {"reason": "subscription_canceled"}).content
    csv = client.get(reverse("risk:disputes"), {"format": "csv"})
    assert csv.status_code == 200 and b"dp_acme" in b"".join(csv.streaming_content)
    login(client, people.support)
    assert client.get(reverse("risk:reviews"), {"format": "csv"}).status_code == 403


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"amount_min": "abc"}, b"Enter a number"),
        ({"amount_min": "9", "amount_max": "1"}, b"above the maximum"),
        ({"risk": "x"}, b"Select a valid choice"),
    ],
)
def test_bad_filters_say_so(client, people, cases, params, message):
    login(client, people.analyst)
    response = client.get(reverse("risk:reviews"), params)
    assert response.status_code == 200 and message in response.content and b"prv_acme" not in response.content


def test_bad_input_on_forms_is_a_message_not_a_500(client, people, cases, stripe_calls):
    login(client, people.admin)
    for name, args, data, message in [
        ("risk:policy", [], {"auto_refund": "on", "refund_below": "lots"}, "must be an amount"),
        ("risk:policy", [], {"auto_refund": "on", "refund_below": "0"}, "above zero"),
        (
            "risk:blocklist_add",
            [],
            {"kind": "card_fingerprint", "value": "4242424242424242", "reason": "x"},
            "card number",
        ),
        ("risk:blocklist_add", [], {"kind": "email", "value": "nope", "reason": "x"}, "not an email"),
        ("risk:review_decide", ["prv_acme"], {"kind": "approve", "reason": ""}, "Say why"),
        ("risk:review_decide", ["prv_acme"], {"kind": "approve", "reason": "x", "request_id": "zzz"}, "out of date"),
        ("risk:dispute_upload", ["dp_acme"], {"field": "receipt"}, "Choose a file"),
        ("risk:dispute_evidence", ["dp_acme"], {"action": "submit"}, "no evidence to submit"),
    ]:
        payload = {"request_id": str(uuid.uuid4()), **data}
        response = client.post(reverse(name, args=args), payload, follow=True)
        assert response.status_code == 200, name
        assert message in response.content.decode(), (name, message)
    assert not stripe_calls


def test_a_past_due_dispute_shows_why_no_form(client, people, cases):
    DisputeCase.objects.filter(pk="dp_acme").update(due_by="2020-01-01T00:00:00Z")
    login(client, people.admin)
    page = client.get(reverse("risk:dispute", args=["dp_acme"])).content.decode()
    assert "no longer accepts it" in page and "Submit to the bank" not in page


def test_analytics_chart_and_table(client, people, cases):
    deliver(
        dispute("dp_acme", charge_id="ch_acme", reason="subscription_canceled", status="lost", submissions=1),
        "charge.dispute.closed",
        T + 50,
    )
    login(client, people.analyst)
    page = client.get(reverse("risk:analytics"), {"days": "730"}).content.decode()
    assert 'data-chart="by-reason-data"' in page and "Subscription canceled" in page and "$50.00" in page
