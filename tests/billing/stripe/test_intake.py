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
