"""The Stripe gateway: the only module that talks to Stripe.

Every call goes through one `StripeGateway`: the pinned API version, the configured base URL
(Stripe or the local sandbox), a rate limiter shared by all processes, retries with backoff
on 429/5xx/timeouts, and an idempotency key on every write so a retry is always safe.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from billing.stripe.errors import InvalidRequest, PaymentDeclined, StripeGatewayError, StripeUnavailable
from billing.stripe.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter

log = logging.getLogger(__name__)

_ID_SEGMENT = re.compile(r"/[a-z]+_[A-Za-z0-9]+")


def endpoint_of(method: str, path: str) -> str:
    """`POST /v1/invoices/in_123/pay` -> `POST /v1/invoices/{id}/pay`: Stripe's rate limits are per endpoint."""
    return f"{method.upper()} {_ID_SEGMENT.sub('/{id}', path)}"


class StripeGateway:
    def __init__(
        self,
        *,
        api_key: str,
        api_base: str,
        api_version: str,
        limiter: RateLimiter,
        max_retries: int = 4,
        timeout: int = 30,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
    ):
        self.api_base = api_base.rstrip("/")
        self.api_version = api_version
        self.limiter = limiter
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.calls = 0  # requests actually sent, for tests and benchmarks
        self._client = stripe.StripeClient(
            api_key,
            stripe_version=api_version,
            base_addresses={
                "api": self.api_base,
                "files": self.api_base,
                "connect": self.api_base,
                "meter_events": self.api_base,
            },
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    # --- the four verbs -------------------------------------------------------------------
    def get(self, path: str, **params: Any) -> dict:
        return self.request("get", path, params)

    def post(self, path: str, params: dict | None = None, *, idempotency_key: str) -> dict:
        return self.request("post", path, params or {}, idempotency_key=idempotency_key)

    def delete(self, path: str, *, idempotency_key: str) -> dict:
        return self.request("delete", path, {}, idempotency_key=idempotency_key)

    def list_all(self, path: str, *, page_size: int = 100, **params: Any) -> Iterator[dict]:
        """Every object of a list endpoint, page by page."""
        starting_after = None
        while True:
            page_params = {**params, "limit": page_size}
            if starting_after:
                page_params["starting_after"] = starting_after
            page = self.get(path, **page_params)
            data = page.get("data", [])
            yield from data
            if not page.get("has_more") or not data:
                return
            starting_after = data[-1]["id"]

    def request(self, method: str, path: str, params: dict, *, idempotency_key: str | None = None) -> dict:
        if method != "get" and not idempotency_key:
            raise ValueError(f"{method.upper()} {path} needs an idempotency key: every write must be safe to repeat")
        endpoint = endpoint_of(method, path)
        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        attempt = 0
        while True:
            self.limiter.acquire(endpoint)
            self.calls += 1
            try:
                response = self._client.raw_request(method, path, **params, **options)
                return response.data
            except (stripe.RateLimitError, stripe.APIConnectionError, stripe.APIError) as error:
                retryable = not isinstance(error, stripe.APIError) or (error.http_status or 500) >= 500
                if isinstance(error, stripe.RateLimitError):
                    retryable = True
                if not retryable or attempt >= self.max_retries:
                    raise self._translate(error, unavailable=retryable) from error
                delay = min(self.backoff_cap, self.backoff_base * 2**attempt) * (0.5 + random.random() / 2)
                log.warning(
                    "stripe %s failed (%s), retry %d in %.2fs", endpoint, type(error).__name__, attempt + 1, delay
                )
                time.sleep(delay)
                attempt += 1
            except stripe.StripeError as error:
                raise self._translate(error) from error

    @staticmethod
    def _translate(error: stripe.StripeError, *, unavailable: bool = False) -> StripeGatewayError:
        body = (error.json_body or {}).get("error", {}) if isinstance(error.json_body, dict) else {}
        kwargs = {
            "http_status": error.http_status,
            "error_type": body.get("type"),
            "code": error.code or body.get("code"),
            "param": body.get("param"),
            "decline_code": body.get("decline_code"),
            "request_id": error.request_id,
        }
        message = body.get("message") or error.user_message or "Stripe could not complete the request"
        if unavailable:
            return StripeUnavailable(
                f"Stripe is not answering right now ({message}); nothing was changed, try again", **kwargs
            )
        if isinstance(error, stripe.CardError) or error.http_status == 402:
            return PaymentDeclined(message, **kwargs)
        if isinstance(error, stripe.InvalidRequestError):
            return InvalidRequest(message, **kwargs)
        return StripeGatewayError(message, **kwargs)


@lru_cache(maxsize=1)
def _default_limiter() -> RateLimiter:
    rate = settings.STRIPE_RATE_LIMIT_PER_SECOND
    # Stripe counts requests per second; a bucket lets `capacity + rate` through in any one second
    # after a quiet spell, so the burst is a fifth of the rate: 20/s gives at most 24, under 25.
    capacity = max(1.0, rate / 5)
    if settings.REDIS_URL:
        return RedisRateLimiter(settings.REDIS_URL, rate=rate, capacity=capacity)
    return LocalRateLimiter(rate=rate, capacity=capacity)


_gateway: StripeGateway | None = None


def gateway() -> StripeGateway:
    """The process-wide gateway, built from settings on first use."""
    global _gateway
    if _gateway is None:
        _gateway = StripeGateway(
            api_key=settings.STRIPE_SECRET_KEY,
            api_base=settings.STRIPE_API_BASE,
            api_version=settings.STRIPE_API_VERSION,
            limiter=_default_limiter(),
            max_retries=settings.STRIPE_MAX_RETRIES,
            timeout=settings.STRIPE_TIMEOUT_SECONDS,
        )
    return _gateway


def reset_gateway() -> None:
    """Forget the gateway (tests that change settings)."""
    global _gateway
    _gateway = None
    _default_limiter.cache_clear()


@sensitive_variables("secret")
def verify_signature(payload: bytes, header: str, secret: str, tolerance: int) -> None:
    """Raise ValueError unless `header` is Stripe's signature of `payload` with `secret`, timestamped
    within `tolerance` seconds of now, before or after (stripe-python only refuses old timestamps)."""
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), header, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise ValueError(str(error).split("\n")[0]) from None
    # Read as verify_header read it (the first `t=` item), which it has already parsed as an integer.
    timestamp = next(int(item.split("=", 2)[1]) for item in header.split(",") if item.split("=", 2)[0] == "t")
    if timestamp > time.time() + tolerance:
        raise ValueError("Timestamp is in the future (outside the tolerance zone)")
