"""Changes at the next renewal, through Stripe subscription schedules: the phase that holds the
subscription as it is until its period ends, then a phase with the new plan. Stripe enters the new
phase itself at the renewal (before invoicing it), so nothing here has to run at that moment.

Why schedules and not a change the portal applies at renewal: Stripe creates and collects the
renewal invoice at the period boundary on its own clock; a portal job applying the change "just
before" would race it (and a test clock's advance jumps across it), while a schedule is part of
the subscription at Stripe: the renewal invoice is for the new plan, the change survives the
portal being down, and finance sees it in Stripe's dashboard.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from djstripe.models import Price, Subscription, SubscriptionSchedule

from billing.stripe import mirror
from billing.stripe.gateway import gateway

LIVE = ("not_started", "active")


@dataclass
class PendingChange:
    schedule_id: str
    starts: dt.datetime
    price: Price | None
    price_id: str
    quantity: int


def pending_changes(subscriptions: list[Subscription]) -> dict[str, PendingChange]:
    """The next scheduled phase of each subscription that has one, by subscription id (two queries)."""
    if not subscriptions:
        return {}
    schedules = SubscriptionSchedule.objects.filter(
        subscription__id__in=[s.id for s in subscriptions], stripe_data__status__in=list(LIVE)
    ).select_related("subscription")
    found: dict[str, tuple[SubscriptionSchedule, dict]] = {}
    for schedule in schedules:
        phase = next_phase(schedule.stripe_data)
        if phase and schedule.subscription is not None:
            found[schedule.subscription.id] = (schedule, phase)
    price_ids = {(phase["items"] or [{}])[0].get("price") for _, phase in found.values()}
    prices = {p.id: p for p in Price.objects.filter(id__in=[p for p in price_ids if p]).select_related("product")}
    pending = {}
    for subscription_id, (schedule, phase) in found.items():
        item = (phase["items"] or [{}])[0]
        price_id = item.get("price") if isinstance(item.get("price"), str) else (item.get("price") or {}).get("id")
        pending[subscription_id] = PendingChange(
            schedule_id=schedule.id,
            starts=dt.datetime.fromtimestamp(phase["start_date"], dt.UTC),
            price=prices.get(price_id),
            price_id=price_id or "",
            quantity=item.get("quantity") or 1,
        )
    return pending


def next_phase(schedule: dict) -> dict | None:
    """The phase after the current one, if it has not started."""
    current_end = (schedule.get("current_phase") or {}).get("end_date")
    for phase in schedule.get("phases") or []:
        if current_end and phase.get("start_date", 0) >= current_end:
            return phase
    return None


def schedule_change(*, subscription_id: str, price_id: str, quantity: int, interval: str, key: str) -> dict:
    """Put the subscription on a schedule whose second phase has the new plan; return the schedule."""
    client = gateway()
    schedule = client.post(
        "/v1/subscription_schedules", {"from_subscription": subscription_id}, idempotency_key=f"{key}:create"
    )
    current = schedule["phases"][0]
    params = {
        "phases": [
            {
                "items": [{"price": _id(i["price"]), "quantity": i["quantity"]} for i in current["items"]],
                "start_date": current["start_date"],
                "end_date": current["end_date"],
            },
            {
                "items": [{"price": price_id, "quantity": quantity}],
                "duration": {"interval": interval, "interval_count": 1},
                "proration_behavior": "none",
            },
        ],
        "end_behavior": "release",
        "proration_behavior": "none",
    }
    try:
        return client.post(f"/v1/subscription_schedules/{schedule['id']}", params, idempotency_key=f"{key}:phases")
    except Exception:
        # The schedule was made but not given the change: let go of it, so nothing is left half done.
        release(schedule["id"], key=f"{key}:undo")
        raise


def release(schedule_id: str, *, key: str) -> dict:
    """Let the subscription go on as it is, without the scheduled change; written through."""
    schedule = gateway().post(f"/v1/subscription_schedules/{schedule_id}/release", {}, idempotency_key=key)
    mirror.apply_object(schedule)
    return schedule


def _id(value) -> str:
    return value if isinstance(value, str) else value["id"]
