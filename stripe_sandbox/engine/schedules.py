"""Subscription schedules: phases of items over time. Building phases from parameters, and the
moment a subscription crosses a phase boundary (entering the next phase, or ending the schedule).

A subscription on a schedule names it in `schedule`; the schedule names it in `subscription`.
Only boundaries at the end of a billing period are entered (the sandbox's renewals are where a
test clock crosses time), which is where a portal schedules downgrades.
"""

from __future__ import annotations

from ..core import SandboxError, copy_of, make, new_id
from ..routing import Api, as_int, need
from .periods import add_months, current_period

LIVE = ("not_started", "active")


def schedule_phase(api: Api, spec: dict, *, currency: str, start: int, index: int, default_proration: str) -> dict:
    """One phase in Stripe's shape from `phases[i]` parameters, starting at `start`."""
    items = spec.get("items") or []
    if not items:
        raise SandboxError(400, "Missing required param: phases[0][items].", param=f"phases[{index}][items]")
    if spec.get("iterations") not in (None, ""):
        raise SandboxError(
            400,
            "Received unknown parameter: phases[0][iterations]. Use phases[0][duration] instead.",
            code="parameter_unknown",
            param=f"phases[{index}][iterations]",
        )
    phase_items, interval = [], None
    for n, item in enumerate(items):
        price = api.state.get(need(item, "price"), "price", param=f"phases[{index}][items][{n}][price]")
        if not price.get("recurring"):
            raise SandboxError(400, f"The price {price['id']} is not recurring.", param=f"phases[{index}][items]")
        if price["currency"] != currency:
            raise SandboxError(
                400,
                f"The price {price['id']} is in {price['currency']}, the subscription in {currency}.",
                param=f"phases[{index}][items][{n}][price]",
            )
        quantity = as_int(item.get("quantity"), f"phases[{index}][items][{n}][quantity]", 1)
        if quantity < 1:
            raise SandboxError(400, "Quantity must be at least 1.", param=f"phases[{index}][items][{n}][quantity]")
        interval = interval or price["recurring"]
        phase_items.append(
            {
                "billing_thresholds": None,
                "discounts": [],
                "metadata": item.get("metadata") or {},
                "plan": price["id"],
                "price": price["id"],
                "quantity": quantity,
                "tax_rates": [],
            }
        )
    end = _phase_end(spec, start, interval, index)
    return {
        "add_invoice_items": [],
        "application_fee_percent": None,
        "billing_cycle_anchor": None,
        "billing_thresholds": None,
        "collection_method": None,
        "currency": currency,
        "default_payment_method": spec.get("default_payment_method"),
        "default_tax_rates": [],
        "description": spec.get("description"),
        "discounts": [],
        "end_date": end,
        "invoice_settings": None,
        "items": phase_items,
        "metadata": spec.get("metadata") or {},
        "on_behalf_of": None,
        "proration_behavior": spec.get("proration_behavior") or default_proration,
        "start_date": start,
        "transfer_data": None,
        "trial_end": None,
    }


def _phase_end(spec: dict, start: int, recurring: dict, index: int) -> int:
    if spec.get("end_date") not in (None, ""):
        end = as_int(spec["end_date"], f"phases[{index}][end_date]")
    else:
        duration = spec.get("duration") or {
            "interval": recurring["interval"],
            "interval_count": recurring.get("interval_count") or 1,
        }
        count = as_int(duration.get("interval_count"), f"phases[{index}][duration][interval_count]", 1)
        interval = duration.get("interval")
        months = {"month": 1, "year": 12}.get(interval)
        days = {"day": 1, "week": 7}.get(interval)
        if months:
            end = add_months(start, months * count)
        elif days:
            end = start + days * count * 86400
        else:
            raise SandboxError(
                400, "duration[interval] must be day, week, month or year.", param=f"phases[{index}][duration]"
            )
    if end <= start:
        raise SandboxError(400, "A phase must end after it starts.", param=f"phases[{index}][end_date]")
    return end


def phase_from_subscription(sub: dict) -> dict:
    """The phase a schedule made `from_subscription` starts with: the subscription as it is."""
    start, end = current_period(sub)
    return {
        "add_invoice_items": [],
        "application_fee_percent": None,
        "billing_cycle_anchor": None,
        "billing_thresholds": None,
        "collection_method": sub["collection_method"],
        "currency": sub["currency"],
        "default_payment_method": sub.get("default_payment_method"),
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "end_date": end,
        "invoice_settings": None,
        "items": [
            {
                "billing_thresholds": None,
                "discounts": [],
                "metadata": item.get("metadata") or {},
                "plan": item["price"]["id"],
                "price": item["price"]["id"],
                "quantity": item["quantity"],
                "tax_rates": [],
            }
            for item in sub["items"]["data"]
        ],
        "metadata": {},
        "on_behalf_of": None,
        "proration_behavior": "create_prorations",
        "start_date": start,
        "transfer_data": None,
        "trial_end": None,
    }


def new_schedule(sub: dict, *, created: int) -> dict:
    phase = phase_from_subscription(sub)
    return make(
        "subscription_schedule",
        id=new_id("subscription_schedule"),
        application=None,
        canceled_at=None,
        completed_at=None,
        created=created,
        current_phase={"start_date": phase["start_date"], "end_date": phase["end_date"]},
        customer=sub["customer"],
        customer_account=None,
        default_settings={
            "application_fee_percent": None,
            "automatic_tax": {"enabled": False, "disabled_reason": None, "liability": None},
            "billing_cycle_anchor": "automatic",
            "billing_thresholds": None,
            "collection_method": sub["collection_method"],
            "default_payment_method": sub.get("default_payment_method"),
            "description": None,
            "invoice_settings": {
                "account_tax_ids": None,
                "days_until_due": sub.get("days_until_due"),
                "issuer": {"type": "self"},
            },
            "on_behalf_of": None,
            "transfer_data": None,
        },
        end_behavior="release",
        metadata={},
        phases=[phase],
        released_at=None,
        released_subscription=None,
        status="active",
        subscription=sub["id"],
        test_clock=sub.get("test_clock"),
        billing_mode={"type": "classic", "flexible": None},
    )


def live_schedule(api: Api, sub: dict) -> dict | None:
    schedule = api.state.objects.get(sub.get("schedule") or "")
    return schedule if schedule and schedule["status"] in LIVE else None


def release(api: Api, schedule: dict, sub: dict | None, at: int) -> None:
    """The schedule lets go of its subscription, which carries on as it is."""
    previous = {"status": schedule["status"]}
    schedule.update(
        status="released",
        released_at=at,
        released_subscription=schedule["subscription"],
        subscription=None,
        current_phase=None,
    )
    if sub is not None and sub.get("schedule") == schedule["id"]:
        sub["schedule"] = None
        api.emit("customer.subscription.updated", sub, {"schedule": schedule["id"]})
    api.emit("subscription_schedule.released", schedule, previous)


def next_phase_items(api: Api, sub: dict, phase: dict) -> list[dict]:
    """`items[]` parameters that turn the subscription's items into the phase's (ids kept in order)."""
    current = sub["items"]["data"]
    specs: list[dict] = []
    for n, item in enumerate(phase["items"]):
        spec = {"price": item["price"], "quantity": item["quantity"], "metadata": item.get("metadata") or {}}
        if n < len(current):
            spec["id"] = current[n]["id"]
        specs.append(spec)
    specs += [{"id": extra["id"], "deleted": True} for extra in current[len(phase["items"]) :]]
    return copy_of(specs)
