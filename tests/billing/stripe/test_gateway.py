import pytest

from billing.stripe.errors import InvalidRequest, PaymentDeclined, StripeUnavailable
from billing.stripe.gateway import StripeGateway, endpoint_of, gateway
from billing.stripe.ratelimit import LocalRateLimiter, RedisRateLimiter


def test_endpoints_are_rate_limited_by_template():
    assert endpoint_of("post", "/v1/invoices/in_1Abc/pay") == "POST /v1/invoices/{id}/pay"
    assert endpoint_of("get", "/v1/customers") == "GET /v1/customers"


def test_a_write_without_idempotency_key_is_refused(settings):
    with pytest.raises(ValueError, match="idempotency key"):
        gateway().request("post", "/v1/customers", {})


def test_gateway_uses_the_pinned_version_and_base(settings):
    client = gateway()
    assert client.api_version == settings.STRIPE_API_VERSION
    assert client.api_base == settings.STRIPE_API_BASE


def test_same_key_same_object(sandbox):
    first = gateway().post("/v1/customers", {"email": "a@x.example"}, idempotency_key="test:idem:1")
    again = gateway().post("/v1/customers", {"email": "a@x.example"}, idempotency_key="test:idem:1")
    assert first["id"] == again["id"]
    assert len(list(gateway().list_all("/v1/customers", email="a@x.example"))) == 1


def test_decline_is_a_payment_declined_error(sandbox):
    client = gateway()
    customer = client.post("/v1/customers", {"email": "d@x.example"}, idempotency_key="test:decl:cus")
    with pytest.raises(PaymentDeclined) as caught:
        client.post(
            "/v1/payment_intents",
            {
                "amount": 1000,
                "currency": "usd",
                "customer": customer["id"],
                "payment_method": "pm_card_chargeDeclined",
                "confirm": "true",
                "payment_method_types": ["card"],
            },
            idempotency_key="test:decl:pi",
        )
    assert caught.value.http_status == 402
    assert caught.value.code == "card_declined"


def test_missing_object_is_invalid_request(sandbox):
    with pytest.raises(InvalidRequest) as caught:
        gateway().get("/v1/customers/cus_missing")
    assert caught.value.http_status == 404


def test_server_errors_are_retried_then_reported(sandbox, sandbox_faults, settings):
    settings.STRIPE_MAX_RETRIES = 2
    client = StripeGateway(
        api_key="sk_test_x",
        api_base=sandbox,
        api_version=settings.STRIPE_API_VERSION,
        limiter=LocalRateLimiter(rate=1000),
        max_retries=2,
        backoff_base=0.01,
    )
    sandbox_faults(error_rate=1.0)
    with pytest.raises(StripeUnavailable, match="nothing was changed"):
        client.post("/v1/customers", {"email": "r@x.example"}, idempotency_key="test:retry:1")
    assert client.calls == 3
    sandbox_faults(error_rate=0)
    assert client.post("/v1/customers", {"email": "r@x.example"}, idempotency_key="test:retry:1")["id"]


def test_rate_limited_answers_are_retried(sandbox, sandbox_faults, settings):
    client = StripeGateway(
        api_key="sk_test_x",
        api_base=sandbox,
        api_version=settings.STRIPE_API_VERSION,
        limiter=LocalRateLimiter(rate=1000),
        max_retries=6,
        backoff_base=0.05,
    )
    sandbox_faults(rate_limit=True)
    ids = {client.get("/v1/customers", limit=1)["object"] for _ in range(40)}
    assert ids == {"list"}
    assert client.calls >= 40


def test_local_bucket_allows_its_capacity_then_waits():
    limiter = LocalRateLimiter(rate=5)
    waits = [limiter._take("GET /v1/x") for _ in range(6)]
    assert waits[:5] == [0] * 5 and waits[5] > 0
    assert limiter._take("GET /v1/other") == 0  # buckets are per endpoint


def test_redis_bucket_is_shared_between_processes(settings):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the shared limiter needs Redis")
    import uuid

    prefix = f"test:rl:{uuid.uuid4().hex}:"
    a = RedisRateLimiter(settings.REDIS_URL, rate=3, prefix=prefix)
    b = RedisRateLimiter(settings.REDIS_URL, rate=3, prefix=prefix)
    assert [a._take("POST /v1/x") for _ in range(3)] == [0, 0, 0]
    assert b._take("POST /v1/x") > 0  # the other process finds the bucket empty
