import pytest

from accounts.models import AuditLog
from billing.stripe import services
from billing.stripe.gateway import gateway
from billing.stripe.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/stripe/webhook/"


def test_registration_is_keyed_by_our_row_so_a_crash_then_a_retry_makes_one_endpoint(sandbox, monkeypatch):
    real_save = WebhookEndpoint.save

    def crash_after_stripe_answered(self, *args, **kwargs):
        if kwargs.get("update_fields"):
            raise RuntimeError("process died")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(WebhookEndpoint, "save", crash_after_stripe_answered)
    with pytest.raises(RuntimeError):
        services.webhook_endpoint_register(url=URL)
    monkeypatch.setattr(WebhookEndpoint, "save", real_save)
    endpoint = services.webhook_endpoint_register(url=URL)
    assert endpoint.secret.startswith("whsec_")
    assert [e["id"] for e in gateway().list_all("/v1/webhook_endpoints")] == [endpoint.stripe_id]
    assert WebhookEndpoint.objects.count() == 1
    assert AuditLog.objects.filter(action="webhook_endpoint.register").count() == 1


def test_a_pending_row_holds_no_secret_the_intake_would_try(sandbox):
    from billing.stripe import intake

    WebhookEndpoint.objects.create(url=URL, api_base=sandbox, api_version="x")
    intake.forget_webhook_secrets()
    assert "" not in intake.webhook_secrets()
