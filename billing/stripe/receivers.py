"""Reacting to Stripe events, one receiver per event type.

A domain app subscribes to the event types it cares about:

    from billing.stripe.receivers import stripe_receiver

    @stripe_receiver("invoice.payment_failed")
    def open_dunning_case(event: StripeEvent, obj: dict) -> None:
        ...

Receivers run after the event was applied to the mirror, inside the same transaction, on the
worker that applied it (never on the webhook request). Every event reaches its receivers once,
also one that arrived after a newer state of its object (a payment failure is a fact even when the
invoice was paid since): `obj` is the event's snapshot, and the mirror may hold a newer state, so
decide on the mirror's row when it matters. Receivers only update local state or enqueue work
with `transaction.on_commit`; an exception fails the event, which is then retried with the mirror
write, so a receiver must be safe to run twice.

Each app imports its `receivers` module in `AppConfig.ready()` so the registrations exist in
every process. `"*"` receives every applied event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from billing.stripe.models import StripeEvent

Receiver = Callable[["StripeEvent", dict], None]

# Sent once per processed event (sender=StripeEvent, event=..., outcome=applied|stale|ignored).
# Prefer `stripe_receiver`.
event_applied = Signal()
# Sent after the mirror's writer wrote rows (sender=Writer, models=frozenset of the model classes
# written), inside the writing transaction: for caches of pages that read those tables.
mirror_written = Signal()

_registry: dict[str, list[Receiver]] = defaultdict(list)


def stripe_receiver(*event_types: str) -> Callable[[Receiver], Receiver]:
    """Register `func(event, obj)` for each of `event_types` (exact names, or "*")."""
    if not event_types:
        raise ValueError("name at least one event type")

    def register(func: Receiver) -> Receiver:
        for event_type in event_types:
            if func not in _registry[event_type]:
                _registry[event_type].append(func)
        return func

    return register


def receivers_for(event_type: str) -> list[Receiver]:
    return [*_registry.get(event_type, ()), *_registry.get("*", ())]


def dispatch(sender, *, event: StripeEvent, **kwargs) -> None:
    obj = (event.payload.get("data") or {}).get("object") or {}
    for receiver in receivers_for(event.type):
        receiver(event, obj)


event_applied.connect(dispatch, dispatch_uid="billing.stripe.receivers.dispatch")
