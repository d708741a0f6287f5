"""Errors the rest of the portal sees. Nothing outside billing/stripe imports `stripe`."""

from __future__ import annotations


class StripeGatewayError(Exception):
    """Stripe answered with an error. `message` is safe to show to a user."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        error_type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        request_id: str | None = None,
        payment_intent_id: str | None = None,
        charge_id: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.error_type = error_type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.request_id = request_id
        # A declined payment names the PaymentIntent and Charge it made (Stripe's error body does).
        self.payment_intent_id = payment_intent_id
        self.charge_id = charge_id

    def as_json(self) -> dict:
        return {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "param": self.param,
            "decline_code": self.decline_code,
        }


class PaymentDeclined(StripeGatewayError):
    """HTTP 402: a card or bank declined. Ordinary in billing, not a fault."""


class InvalidRequest(StripeGatewayError):
    """HTTP 400/404: our request was wrong or the object does not exist."""


class StripeUnavailable(StripeGatewayError):
    """Stripe stayed unreachable, rate limited or failing through every retry."""
