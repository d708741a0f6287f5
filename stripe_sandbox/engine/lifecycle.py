"""A subscription's life: its items and their changes (prorations), invoicing a period now, trials
ending, renewals and cancellation at period end as a test clock advances, cancelling now; and a
test clock's advance itself: renewals, invoice retries and bank debit settlements in time order."""

from __future__ import annotations

from ..core import SandboxError, copy_of, make, new_id
from ..routing import Api, as_bool, as_int, need
from .collection import attempt_invoice_payment, settle_charge
from .debits import SETTLE_AT, pending_settlements
from .invoicing import finalize_invoice, new_invoice, period_lines
from .periods import current_period, day_label, period_end
from .schedules import live_schedule, next_phase_items, release


def subscription_item(api: Api, sub_id: str, spec: dict, start: int, end: int) -> dict:
    price = api.state.get(need(spec, "price"), "price", param="items[0][price]")
    if not price.get("recurring"):
        raise SandboxError(
            400,
            f"The price {price['id']} is a one-time price; subscriptions need recurring prices.",
            param="items[0][price]",
        )
    quantity = as_int(spec.get("quantity"), "items[0][quantity]", 1)
    if quantity < 0:
        raise SandboxError(400, "Quantity must be zero or more.", param="items[0][quantity]")
    if price["recurring"]["usage_type"] == "metered":
        quantity = None
    return make(
        "subscription_item",
        id=new_id("subscription_item"),
        created=start,
        current_period_start=start,
        current_period_end=end,
        discounts=[],
        metadata=spec.get("metadata") or {},
        price=copy_of(price),
        quantity=quantity,
        subscription=sub_id,
        tax_rates=[],
        billing_thresholds=None,
        plan=None,
    )


def changed_items(api: Api, sub: dict, specs: list[dict], now: int) -> list[dict]:
    """The subscription's items after applying `items[]` changes (ids keep, price/quantity change, deleted go)."""
    current = {item["id"]: copy_of(item) for item in sub["items"]["data"]}
    start, end = current_period(sub)
    result = dict(current)
    for spec in specs:
        if spec.get("id"):
            if spec["id"] not in current:
                raise SandboxError(
                    400, f"Subscription item {spec['id']} does not belong to {sub['id']}.", param="items"
                )
            if as_bool(spec.get("deleted")):
                result.pop(spec["id"])
                continue
            item = result[spec["id"]]
            if spec.get("price"):
                item["price"] = copy_of(api.state.get(spec["price"], "price", param="items[0][price]"))
            if spec.get("quantity") not in (None, ""):
                item["quantity"] = as_int(spec["quantity"], "items[0][quantity]")
            if spec.get("metadata") is not None:
                item["metadata"] = spec["metadata"]
        else:
            new = subscription_item(api, sub["id"], spec, start, end)
            result[new["id"]] = new
    if not result:
        raise SandboxError(400, "A subscription needs at least one item; cancel it instead.", param="items")
    return list(result.values())


def _amount(item: dict) -> int:
    if item["price"]["recurring"]["usage_type"] == "metered":
        return 0
    return (item["price"]["unit_amount"] or 0) * (item["quantity"] or 0)


def prorations(sub: dict, new_items: list[dict], at: int) -> tuple[list[dict], bool]:
    """Proration lines for moving from the current items to `new_items` at `at`; and whether the interval changes."""
    start, end = current_period(sub)
    old_interval = sub["items"]["data"][0]["price"]["recurring"]["interval"]
    new_interval = new_items[0]["price"]["recurring"]["interval"]
    interval_change = old_interval != new_interval
    fraction = max(0.0, min(1.0, (end - at) / max(1, end - start)))
    old = {i["id"]: i for i in sub["items"]["data"]}
    new = {i["id"]: i for i in new_items}
    lines = []
    for item_id, item in old.items():
        changed = (
            item_id not in new
            or new[item_id]["price"]["id"] != item["price"]["id"]
            or new[item_id]["quantity"] != item["quantity"]
            or interval_change
        )
        if changed and _amount(item):
            lines.append(
                {
                    "amount": -round(_amount(item) * fraction),
                    "item": item,
                    "credit": True,
                    "description": f"Unused time on {item['quantity']} × {item['price'].get('nickname') or item['price']['product']} after {day_label(at)}",
                }
            )
    if not interval_change:
        for item_id, item in new.items():
            changed = (
                item_id not in old
                or old[item_id]["price"]["id"] != item["price"]["id"]
                or old[item_id]["quantity"] != item["quantity"]
            )
            if changed and _amount(item):
                lines.append(
                    {
                        "amount": round(_amount(item) * fraction),
                        "item": item,
                        "credit": False,
                        "description": f"Remaining time on {item['quantity']} × {item['price'].get('nickname') or item['price']['product']} after {day_label(at)}",
                    }
                )
    return lines, interval_change


def invoice_subscription_now(
    api: Api,
    sub: dict,
    reason: str,
    start: int,
    end: int,
    *,
    usage_from: int | None,
    raise_on_decline: bool = False,
    trial: bool = False,
    mark_past_due: bool = True,
) -> dict:
    invoice = new_invoice(
        api,
        sub["customer"],
        currency=sub["currency"],
        billing_reason=reason,
        subscription=sub,
        collection_method=sub["collection_method"],
        days_until_due=sub.get("days_until_due"),
        period=(start, end),
    )
    period_lines(api, invoice, sub, start, end, usage_from=usage_from, trial=trial)
    invoice["default_payment_method"] = sub.get("default_payment_method")
    api.emit("invoice.created", invoice)
    finalize_invoice(api, invoice)
    sub["latest_invoice"] = invoice["id"]
    if invoice["status"] == "open" and sub["collection_method"] == "charge_automatically":
        attempt_invoice_payment(api, invoice, raise_on_decline=raise_on_decline, mark_past_due=mark_past_due)
    elif invoice["status"] == "open":
        api.emit("invoice.sent", invoice)
    return invoice


def end_trial(api: Api, sub: dict, at: int) -> None:
    end = period_end(at, sub["items"]["data"][0]["price"]["recurring"])
    for item in sub["items"]["data"]:
        item["current_period_start"], item["current_period_end"] = at, end
    previous = {"status": "trialing"}
    sub["status"] = "active"
    sub["billing_cycle_anchor"] = at
    api.emit("customer.subscription.updated", sub, previous)
    invoice_subscription_now(api, sub, "subscription_cycle", at, end, usage_from=None)


def cancel_subscription(api: Api, sub: dict, details: dict | None) -> dict:
    """Cancel now: `DELETE /v1/subscriptions/{id}`, and every live subscription of a deleted customer."""
    if sub["status"] == "canceled":
        raise SandboxError(400, "This subscription is already canceled.", code="resource_missing")
    now = api.state.now(sub["customer"])
    previous = {"status": sub["status"]}
    sub.update(
        status="canceled",
        canceled_at=sub.get("canceled_at") or now,
        ended_at=now,
        cancellation_details={
            "comment": (details or {}).get("comment"),
            "feedback": (details or {}).get("feedback"),
            "reason": "cancellation_requested",
        },
    )
    api.emit("customer.subscription.deleted", sub, previous)
    return sub


def advance_subscription(api: Api, sub: dict, to: int) -> None:
    """Move one subscription forward to `to`: end trials, renew periods, invoice and collect, retry."""
    for _ in range(240):  # at most twenty years of months per advance
        if sub["status"] in ("canceled", "incomplete_expired", "incomplete"):
            return
        start, end = current_period(sub)
        if sub["status"] == "trialing":
            trial_end = sub["trial_end"]
            if trial_end - 3 * 86400 <= to and not sub.get("_trial_warned"):
                sub["_trial_warned"] = True
                api.emit("customer.subscription.trial_will_end", sub)
            if trial_end > to:
                return
            end_trial(api, sub, trial_end)
            continue
        if end > to:
            return
        if sub["cancel_at_period_end"]:
            previous = {"status": sub["status"]}
            sub.update(status="canceled", ended_at=end)
            api.emit("customer.subscription.deleted", sub, previous)
            return
        previous = {"items": copy_of(sub["items"])}
        if not cross_schedule_boundary(api, sub, end):
            return
        new_end = period_end(end, sub["items"]["data"][0]["price"]["recurring"])
        for item in sub["items"]["data"]:
            item["current_period_start"], item["current_period_end"] = end, new_end
        api.emit("customer.subscription.updated", sub, previous)
        clock = api.state.objects.get(sub.get("test_clock") or "")
        if clock:
            clock["frozen_time"] = end  # the renewal happens at the period boundary
        invoice_subscription_now(api, sub, "subscription_cycle", end, new_end, usage_from=start)


def next_moment(sub: dict) -> int | None:
    """When the subscription next needs the clock: a trial warning or end, or its period's end."""
    if sub["status"] in ("canceled", "incomplete_expired", "incomplete"):
        return None
    if sub["status"] == "trialing":
        return sub["trial_end"] if sub.get("_trial_warned") else sub["trial_end"] - 3 * 86400
    return current_period(sub)[1]


def advance_clock(api: Api, clock: dict, to: int) -> None:
    """Move a test clock to `to`, doing what falls due on the way in time order: subscription trials
    and renewals, retries of failed invoices (Stripe's automatic collection, while `auto_advance` is
    on), and bank debits settling. The clock stands at each moment while it is handled."""
    customers = {
        c["id"] for c in api.state.all("customer") if c.get("test_clock") == clock["id"] and not c.get("deleted")
    }
    for _ in range(100_000):
        moments: list[tuple[int, int, str]] = []
        for sub in api.state.all("subscription"):
            if sub["customer"] in customers:
                at = next_moment(sub)
                if at is not None and at <= to:
                    moments.append((at, 0, sub["id"]))
        for invoice in api.state.all("invoice"):
            if (
                invoice["customer"] in customers
                and invoice["status"] == "open"
                and invoice.get("next_payment_attempt")
                and invoice["next_payment_attempt"] <= to
                and invoice.get("auto_advance", True)
            ):
                moments.append((invoice["next_payment_attempt"], 1, invoice["id"]))
        for charge in pending_settlements(api.state, customers, to):
            moments.append((charge[SETTLE_AT], 2, charge["id"]))
        if not moments:
            return
        at, kind, object_id = min(moments)
        clock["frozen_time"] = max(clock["frozen_time"], at)
        obj = api.state.objects[object_id]
        if kind == 0:
            advance_subscription(api, obj, at)
        elif kind == 1:
            attempt_invoice_payment(api, obj)
        else:
            settle_charge(api, obj)


def cross_schedule_boundary(api: Api, sub: dict, at: int) -> bool:
    """At a period boundary `at`: a schedule that ends there releases (or cancels) its subscription,
    a phase that starts there becomes the subscription's items. False when the subscription ended."""
    schedule = live_schedule(api, sub)
    if schedule is None:
        return True
    phase = next((p for p in schedule["phases"] if p["start_date"] == at), None)
    if phase is None:
        if schedule["phases"][-1]["end_date"] > at:
            return True
        if schedule["end_behavior"] == "cancel":
            previous = {"status": schedule["status"]}
            schedule.update(status="completed", completed_at=at, current_phase=None)
            api.emit("subscription_schedule.completed", schedule, previous)
            previous = {"status": sub["status"]}
            sub.update(status="canceled", ended_at=at, canceled_at=at)
            api.emit("customer.subscription.deleted", sub, previous)
            return False
        release(api, schedule, sub, at)
        return True
    previous = {"current_phase": copy_of(schedule["current_phase"])}
    sub["items"]["data"] = changed_items(api, sub, next_phase_items(api, sub, phase), at)
    if phase.get("default_payment_method"):
        sub["default_payment_method"] = phase["default_payment_method"]
    schedule["current_phase"] = {"start_date": phase["start_date"], "end_date": phase["end_date"]}
    api.emit("subscription_schedule.updated", schedule, previous)
    return True
