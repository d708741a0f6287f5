"""The whole loop: gateway call -> sandbox -> signed event -> intake -> real Celery worker -> mirror row."""

import pytest
from djstripe.models import Customer

from billing.stripe.gateway import gateway
from billing.stripe.models import EventStatus, StripeEvent
from billing.stripe.services import webhook_endpoint_register
from tests.conftest import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_customer_created_through_the_gateway_lands_in_the_mirror(sandbox, live_server, celery_worker_process):
    endpoint = webhook_endpoint_register(url=f"{live_server.url}/stripe/webhook/")
    assert endpoint.secret.startswith("whsec_")
    customer = gateway().post(
        "/v1/customers",
        {"email": "loop@acme.example", "name": "Loop GmbH", "address": {"country": "DE"}},
        idempotency_key="test:integration:customer",
    )

    mirrored = wait_until(lambda: Customer.objects.filter(id=customer["id"]).first(), 30, message="mirror row")
    assert mirrored.email == "loop@acme.example"
    assert mirrored.stripe_data["address"]["country"] == "DE"
    event = StripeEvent.objects.get(object_id=customer["id"], type="customer.created")
    wait_until(lambda: StripeEvent.objects.get(pk=event.pk).status == EventStatus.applied, 10, message="applied")
    assert b"process_event" in celery_worker_process.log.read_bytes()  # the worker did it, not this process


def test_registering_twice_keeps_one_endpoint(sandbox, live_server):
    first = webhook_endpoint_register(url=f"{live_server.url}/stripe/webhook/")
    second = webhook_endpoint_register(url=f"{live_server.url}/stripe/webhook/")
    assert first.pk == second.pk
    assert len(list(gateway().list_all("/v1/webhook_endpoints"))) == 1
