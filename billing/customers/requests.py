"""One `CustomerRequest` row per form a billing admin submits: a double submit finds the first row
(and nothing is sent again); the row's key is the idempotency key of its call to Stripe."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organisation
from billing.customers.models import CustomerRequest, RequestStatus
from billing.stripe.errors import StripeGatewayError


class CustomerRequestError(ValueError):
    """A request the portal refuses, or Stripe refused; the message is for people."""


def begin(
    *, organisation: Organisation, kind: str, request_id: uuid.UUID | str, actor, params: dict | None = None
) -> tuple[CustomerRequest, bool]:
    """The request's row and whether it is new (False: the same form came again)."""
    try:
        request_id = uuid.UUID(str(request_id))
    except ValueError:
        raise CustomerRequestError("This form is out of date: reload the page and try again.") from None
    existing = CustomerRequest.objects.filter(request_id=request_id).first()
    if existing is not None:
        if existing.organisation_id != organisation.pk or existing.kind != kind:
            raise CustomerRequestError("This form is out of date: reload the page and try again.")
        return existing, False
    try:
        with transaction.atomic():
            row = CustomerRequest.objects.create(
                request_id=request_id,
                organisation=organisation,
                kind=kind,
                params=params or {},
                requested_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        return CustomerRequest.objects.get(request_id=request_id), False
    return row, True


def done(row: CustomerRequest, **result) -> CustomerRequest:
    row.status, row.done_at, row.result = RequestStatus.done, timezone.now(), {**row.result, **result}
    row.save(update_fields=["status", "done_at", "result"])
    return row


def failed(row: CustomerRequest, error: StripeGatewayError | str) -> CustomerRequestError:
    message = error.message if isinstance(error, StripeGatewayError) else str(error)
    row.status, row.done_at, row.error = RequestStatus.failed, timezone.now(), message[:2000]
    row.save(update_fields=["status", "done_at", "error"])
    return CustomerRequestError(message)


def repeat(row: CustomerRequest) -> None:
    """A request seen before: its outcome again (an error re-raised), nothing sent."""
    if row.status == RequestStatus.failed:
        raise CustomerRequestError(row.error)
