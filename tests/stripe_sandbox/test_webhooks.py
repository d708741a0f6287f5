"""Webhook endpoints and events: signed deliveries, redelivery, previous attributes, this machine only."""

import pytest
import stripe

from tests.conftest import wait_until


def test_signed_webhooks_are_verified_and_redelivered(sb, receiver):
    hook = receiver(fail_first=1)
    endpoint = sb.v1.webhook_endpoints.create({"url": hook.url, "enabled_events": ["customer.created"]})
    assert endpoint.secret.startswith("whsec_")
    customer = sb.v1.customers.create({"email": "hook@x.example"})
    sb.v1.customers.update(customer.id, {"name": "Not subscribed to this event"})
    wait_until(lambda: hook.deliveries, 15, message="redelivery after a 500")
    events = hook.events(endpoint.secret)
    assert [e.type for e in events] == ["customer.created"]
    assert events[0].api_version == "2026-08-26.dahlia" and events[0].data.object.id == customer.id
    assert hook.calls == 2  # the first answer was a 500
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(hook.deliveries[0][0].decode(), hook.deliveries[0][1], "whsec_wrong")


def test_updated_events_carry_previous_attributes(sb):
    customer = sb.v1.customers.create({"email": "old@x.example"})
    sb.v1.customers.update(customer.id, {"email": "new@x.example"})
    updated = sb.v1.events.list({"type": "customer.updated"}).data[0]
    assert updated.data.previous_attributes.to_dict() == {"email": "old@x.example"}
    assert updated.data.object.email == "new@x.example"


def test_webhooks_only_go_to_this_machine(sb):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sb.v1.webhook_endpoints.create({"url": "https://hooks.example.com/x", "enabled_events": ["*"]})
    assert refused.value.error.param == "url"
    assert sb.v1.webhook_endpoints.create({"url": "http://localhost:9/x", "enabled_events": ["*"]}).secret
