"""What the taxes app's writes share: the error people read, the statuses of a running subscription,
a digest for idempotency keys, and the re-apply of every customer after a change."""

from __future__ import annotations

import hashlib

from django.db import transaction

from accounts.models import Organisation
from billing.stripe import queue
from billing.stripe.errors import StripeGatewayError

LIVE_STATUSES = ["active", "trialing", "past_due", "incomplete", "unpaid"]


class TaxError(ValueError):
    """Bad input or a refusal, in words for the person at the form; nothing was sent to Stripe."""


def stripe_failed(error: StripeGatewayError) -> TaxError:
    return TaxError(f"Stripe refused: {error}")


def taxes_reapply(*, reason: str) -> int:
    """After a change that can move customers' taxes (the mode, a registration, a rate): every
    organisation with a Stripe customer is re-applied by a task on the `stripe` queue, after commit.
    Invoices already issued keep their taxes; subscriptions take the new ones from their next invoice."""
    ids = list(Organisation.objects.exclude(stripe_customer_id=None).values_list("pk", flat=True))
    for pk in ids:
        transaction.on_commit(lambda pk=pk: queue.send("taxes.tasks.reapply_customer", pk))
    return len(ids)


def digest(params: dict) -> str:
    return hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:16]
