"""Helpers for page tests: who is logged in, and the status each role gets."""

from __future__ import annotations

import itertools

from billing.stripe import mirror
from tests import stripe_payloads as sp


def login(client, user) -> None:
    if user is not None:
        client.force_login(user)


_clock = itertools.count(1_760_000_000, 60)


def mirror_customer(customer_id: str, *, subscriptions: int = 1, invoices: int = 1, created: int | None = None):
    """Put a customer with subscriptions and invoices into the mirror through the event path.

    Each call is a later moment (a different state of the same objects in the same second would be
    a tie the mirror settles by asking Stripe)."""
    created = created or next(_clock)
    mirror.apply_event(
        sp.event(sp.customer(customer_id, email=f"{customer_id}@x.example"), "customer.created", created=created)
    )
    for n in range(subscriptions):
        sub_id = f"sub_{customer_id}_{n}"
        mirror.apply_event(
            sp.event(sp.subscription(sub_id, customer_id=customer_id), "customer.subscription.created", created=created)
        )
        for m in range(invoices):
            mirror.apply_event(
                sp.event(
                    sp.invoice(
                        f"in_{customer_id}_{n}_{m}", customer_id=customer_id, subscription_id=sub_id, status="paid"
                    ),
                    "invoice.paid",
                    created=created,
                )
            )
