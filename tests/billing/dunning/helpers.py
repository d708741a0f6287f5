"""Driving dunning against the sandbox in-process: Stripe's events pumped through the real pipeline
(stored, applied to the mirror, receivers), Celery tasks run eagerly, after-commit work executed."""

from __future__ import annotations

import datetime as dt

from billing.stripe import processing
from billing.stripe.gateway import gateway
from billing.stripe.models import StripeEvent


class Pump:
    def __init__(self, capture):
        self.capture = capture  # django_capture_on_commit_callbacks
        self.seen: set[str] = set()

    def new_events(self) -> list[dict]:
        fresh, starting_after = [], None
        while True:
            params = {"limit": 100, **({"starting_after": starting_after} if starting_after else {})}
            page = gateway().get("/v1/events", **params)
            batch = [e for e in page["data"] if e["id"] not in self.seen]
            fresh.extend(batch)
            if not page["has_more"] or len(batch) < len(page["data"]):
                break
            starting_after = page["data"][-1]["id"]
        return list(reversed(fresh))  # oldest first

    def __call__(self, *, rounds: int = 5) -> int:
        """Apply every event Stripe sent since the last call (and those the reactions cause)."""
        applied = 0
        for _ in range(rounds):
            events = self.new_events()
            if not events:
                return applied
            with self.capture(execute=True):
                for evt in events:
                    self.seen.add(evt["id"])
                    obj = evt["data"]["object"]
                    StripeEvent.objects.get_or_create(
                        id=evt["id"],
                        defaults={
                            "type": evt["type"],
                            "created": dt.datetime.fromtimestamp(evt["created"], dt.UTC),
                            "object_type": obj.get("object", ""),
                            "object_id": obj.get("id", ""),
                            "payload": evt,
                        },
                    )
                    processing.events_process(event_ids=[evt["id"]])
                    applied += 1
        return applied


def advance(clock_id: str, to: int) -> dict:
    return gateway().post(
        f"/v1/test_helpers/test_clocks/{clock_id}/advance",
        {"frozen_time": to},
        idempotency_key=f"t:adv:{clock_id}:{to}",
    )
