import json
import time

import pytest
from django.urls import reverse

from billing.stripe.models import EventStatus, IntakeRejection, StripeEvent
from tests import stripe_payloads as sp

SECRET = "whsec_test_intake"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.CELERY_TASK_ALWAYS_EAGER = True


def post(client, body: bytes, signature: str | None):
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return client.post(reverse("stripe-webhook"), data=body, content_type="application/json", **headers)


def rejections() -> dict[str, int]:
    return dict(IntakeRejection.objects.values_list("reason", "count"))


def test_signed_event_is_stored_once_and_applied(client, django_capture_on_commit_callbacks):
    evt = sp.event(sp.customer("cus_intake"), "customer.created")
    body, sig = sp.signed(evt, SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, body, sig)
    second = post(client, body, sig)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    assert second.status_code == 200 and second.json()["duplicate"] is True
    stored = StripeEvent.objects.get()
    assert stored.status == EventStatus.applied
    assert (stored.object_type, stored.object_id) == ("customer", "cus_intake")
    from djstripe.models import Customer

    assert Customer.objects.get(id="cus_intake").email == "billing@acme.example"


@pytest.mark.parametrize(
    ("body", "signature", "reason"),
    [
        (b"not json at all", "sign", "not_json"),
        (b'{"id": "evt_1"}', None, "missing_signature"),
        (b'{"id": "evt_1"}', "t=1,v1=deadbeef", "bad_signature"),
        (b'{"id": "evt_1"}', "garbage", "bad_signature"),
        (b'["a list"]', "sign", "not_an_event"),
        (b'{"object": "event", "id": "evt_1", "created": "yesterday", "data": {"object": {}}}', "sign", "not_an_event"),
        (b'{"object": "event", "id": "evt_1", "created": 1, "data": "nothing"}', "sign", "not_an_event"),
    ],
)
def test_bad_deliveries_are_400_stored_nowhere_and_counted(client, body, signature, reason):
    if signature == "sign":
        signature = sp.sign(body, SECRET)
    response = post(client, body, signature)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == reason
    assert StripeEvent.objects.count() == 0
    assert rejections() == {reason: 1}


def test_signature_older_than_tolerance_is_refused(client, settings):
    evt = sp.event(sp.customer(), "customer.created")
    body, sig = sp.signed(evt, SECRET, timestamp=1_600_000_000)
    assert post(client, body, sig).status_code == 400
    assert rejections() == {"bad_signature": 1}


def test_event_of_another_api_version_is_refused_with_a_clear_message(client, caplog):
    evt = sp.event(sp.customer(), "customer.created", api_version="2017-08-15")
    body, sig = sp.signed(evt, SECRET)
    response = post(client, body, sig)
    assert response.status_code == 400
    assert "2017-08-15" in response.json()["error"]["message"]
    assert sp.API_VERSION in response.json()["error"]["message"]
    assert StripeEvent.objects.count() == 0
    assert any("API version" in r.getMessage() for r in caplog.records)


def test_secret_of_a_registered_endpoint_verifies(client, settings):
    from billing.stripe.models import WebhookEndpoint

    settings.STRIPE_WEBHOOK_SECRET = None
    WebhookEndpoint.objects.create(
        stripe_id="we_1",
        url="http://127.0.0.1/",
        api_base=settings.STRIPE_API_BASE,
        api_version=sp.API_VERSION,
        secret="whsec_registered",
    )
    body, sig = sp.signed(sp.event(sp.customer(), "customer.created"), "whsec_registered")
    assert post(client, body, sig).status_code == 200


def test_intake_only_takes_post(client):
    assert client.get(reverse("stripe-webhook")).status_code == 405


def test_intake_query_count_is_fixed(client, django_assert_max_num_queries, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # count the intake alone, not the worker
    from unittest import mock

    from billing.stripe.intake import webhook_secrets

    webhook_secrets()  # loaded once per 30 s per process, not per delivery
    body, sig = sp.signed(sp.event(sp.customer(), "customer.created"), SECRET)
    # One statement: insert-if-new.
    with mock.patch("billing.stripe.tasks.process_event.delay"), django_assert_max_num_queries(1):
        assert post(client, body, sig).status_code == 200
    assert StripeEvent.objects.get().status == EventStatus.received


def refused_as(client, body: bytes, reason: str, **sign_kwargs) -> None:
    response = post(client, body, sp.sign(body, SECRET, **sign_kwargs))
    assert response.status_code == 400, response.content
    assert response.json()["error"]["type"] == reason
    assert StripeEvent.objects.count() == 0
    assert rejections() == {reason: 1}


@pytest.mark.parametrize(
    "event_id",
    [
        "evt_x/../y",
        "evt_1NG8Du2eZvKYlo2CUI79vXWy/",
        "evt_" + "a" * 252,
        "cus_1NG8Du2eZvKYlo2CUI79vXWy",
        "evt_",
        "evt_a b",
    ],
)
def test_an_event_id_not_shaped_like_stripes_is_refused(client, event_id):
    refused_as(client, json.dumps(sp.event(sp.customer(), "customer.created", id=event_id)).encode(), "bad_id")


@pytest.mark.parametrize("object_id", ["x" * 256, "cus_\x1funit", "cus_new\nline"])
def test_an_object_id_too_long_or_not_printable_is_refused(client, object_id):
    refused_as(client, json.dumps(sp.event(sp.customer(object_id), "customer.created")).encode(), "bad_id")


@pytest.mark.parametrize(
    ("event_id", "object_id"),
    [
        ("evt_1NG8Du2eZvKYlo2CUI79vXWy", "cus_NffrFeUfNV2Hib"),
        ("evt_test_65R9Ijk8o2eZvKYlo2C", "SUMMER-25 (legacy coupon)"),  # coupons made before 2018 chose their ids
        ("evt_" + "a" * 251, "x" * 255),  # the longest ids the columns hold
    ],
)
def test_stripe_shaped_ids_are_stored_whole(client, event_id, object_id):
    body, sig = sp.signed(sp.event(sp.customer(object_id), "customer.created", id=event_id), SECRET)
    assert post(client, body, sig).status_code == 200
    assert StripeEvent.objects.values_list("id", "object_id").get() == (event_id, object_id)


@pytest.mark.parametrize(
    ("created", "reason"), [(10**20, "bad_created"), (-(10**15), "bad_created"), (True, "not_an_event")]
)
def test_a_created_time_no_date_can_hold_is_refused(client, created, reason):
    refused_as(client, json.dumps(sp.event(sp.customer(), "customer.created", created=created)).encode(), reason)


def test_json_nested_100000_deep_is_refused(client):
    refused_as(client, b"[" * 100_000 + b"]" * 100_000, "too_deep")


def test_an_event_nested_deeper_than_stripe_nests_is_refused(client):
    deep: dict = {}
    for _ in range(70):
        deep = {"a": deep}
    refused_as(client, json.dumps(sp.event(sp.customer(metadata=deep), "customer.created")).encode(), "too_deep")


def test_a_nul_character_is_refused_before_the_database_sees_it(client):
    refused_as(client, json.dumps(sp.event(sp.customer(name="a\x00b"), "customer.created")).encode(), "bad_payload")


def test_a_body_over_the_size_limit_is_a_counted_json_400(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    body = json.dumps(sp.event(sp.customer(name="x" * 3_000), "customer.created")).encode()
    response = post(client, body, sp.sign(body, SECRET))
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "too_large"
    assert rejections() == {"too_large": 1}


def test_a_signature_from_the_future_is_refused(client):
    body = json.dumps(sp.event(sp.customer(), "customer.created")).encode()
    refused_as(client, body, "bad_signature", timestamp=int(time.time()) + 3600)
    assert post(client, body, sp.sign(body, SECRET, timestamp=int(time.time()) + 60)).status_code == 200


def test_secrets_never_reach_a_debug_page(rf, monkeypatch, settings):
    import sys

    import stripe
    from django.views.debug import ExceptionReporter

    from billing.stripe import intake

    settings.DEBUG = True  # where debug pages are shown
    # A builtin that fails on these arguments: an error inside verification, with no frame of its own.
    monkeypatch.setattr(stripe.WebhookSignature, "verify_header", divmod)
    body, sig = sp.signed(sp.event(sp.customer(), "customer.created"), SECRET)
    html = ""
    try:
        intake.event_receive(body=body, signature=sig)
    except TypeError:
        html = ExceptionReporter(rf.post("/stripe/webhook/"), *sys.exc_info()).get_traceback_html()
    assert "verify_signature" in html and "event_receive" in html
    assert SECRET not in html
