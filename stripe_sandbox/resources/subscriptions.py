"""Subscriptions on price items: create (trials, send_invoice, payment_behavior), update (quantities,
prices, prorations, interval changes, cancel at period end, trial_end=now), cancel, resume; their items."""

from __future__ import annotations

from ..core import SandboxError, copy_of, make, new_id
from ..engine.collection import attempt_invoice_payment, set_status
from ..engine.invoicing import create_invoice_item, finalize_invoice, new_invoice
from ..engine.lifecycle import (
    cancel_subscription,
    changed_items,
    end_trial,
    invoice_subscription_now,
    prorations,
    subscription_item,
)
from ..engine.payments import resolve_payment_method
from ..engine.periods import current_period, period_end
from ..engine.tax import tax_params
from ..routing import Api, as_bool, as_int, check, need, public, route

SUB_FIELDS = {
    "customer",
    "items",
    "default_payment_method",
    "collection_method",
    "days_until_due",
    "trial_period_days",
    "trial_end",
    "proration_behavior",
    "payment_behavior",
    "metadata",
    "cancel_at_period_end",
    "description",
    "currency",
    "off_session",
    "payment_settings",
    "billing_cycle_anchor",
    "default_tax_rates",
    "automatic_tax",
    "trial_from_plan",
}


@route("POST", "/v1/subscriptions")
def subscription_create(api: Api, params: dict) -> dict:
    check(params, SUB_FIELDS)
    customer = api.state.get(need(params, "customer"), "customer", param="customer")
    items = params.get("items") or []
    if not items:
        raise SandboxError(400, "Missing required param: items.", code="parameter_missing", param="items")
    now = api.state.now(customer["id"])
    sub_id = new_id("subscription")
    trial_end = None
    if params.get("trial_period_days") not in (None, ""):
        trial_end = now + as_int(params["trial_period_days"], "trial_period_days") * 86400
    elif params.get("trial_end") not in (None, "", "now"):
        trial_end = as_int(params["trial_end"], "trial_end")
        if trial_end <= now:
            raise SandboxError(400, "trial_end must be in the future.", param="trial_end")
    prices = [api.state.get(need(i, "price"), "price", param="items[0][price]") for i in items]
    tax_rates, automatic = tax_params(api, params)
    if len({p["currency"] for p in prices}) > 1:
        raise SandboxError(400, "All prices on a subscription must have the same currency.", param="items")
    if len({(p["recurring"] or {}).get("interval") for p in prices}) > 1:
        raise SandboxError(400, "All prices on a subscription must have the same recurring interval.", param="items")
    end = trial_end or period_end(now, prices[0]["recurring"] or {"interval": "month"})
    sub_items = [subscription_item(api, sub_id, spec, now, end) for spec in items]
    method = params.get("collection_method") or "charge_automatically"
    default_pm = params.get("default_payment_method")
    if default_pm:
        pm = resolve_payment_method(api.state, default_pm, now)
        if pm.get("customer") not in (None, customer["id"]):
            raise SandboxError(
                400, "The payment method is attached to another customer.", param="default_payment_method"
            )
        pm["customer"] = customer["id"]
        default_pm = pm["id"]
    sub = make(
        "subscription",
        id=sub_id,
        billing_cycle_anchor=now,
        cancel_at=None,
        cancel_at_period_end=as_bool(params.get("cancel_at_period_end")),
        canceled_at=None,
        collection_method=method,
        created=now,
        currency=prices[0]["currency"],
        customer=customer["id"],
        days_until_due=as_int(params.get("days_until_due"), "days_until_due", 30 if method == "send_invoice" else None),
        default_payment_method=default_pm,
        description=params.get("description"),
        discounts=[],
        ended_at=None,
        items={
            "object": "list",
            "data": sub_items,
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        latest_invoice=None,
        metadata=params.get("metadata") or {},
        start_date=now,
        status="trialing" if trial_end else "incomplete",
        test_clock=customer.get("test_clock"),
        trial_end=trial_end,
        trial_start=now if trial_end else None,
        invoice_settings={"account_tax_ids": None, "issuer": {"type": "self"}},
        payment_settings={
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        automatic_tax={
            "enabled": bool(automatic),
            "disabled_reason": None,
            "liability": {"type": "self"} if automatic else None,
        },
        default_tax_rates=tax_rates or [],
        billing_mode={"type": "classic", "flexible": None, "updated_at": None},
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        trial_settings={"end_behavior": {"missing_payment_method": "create_invoice"}},
    )
    api.state.add(sub)
    api.emit("customer.subscription.created", sub)
    behaviour = params.get("payment_behavior") or "allow_incomplete"
    if trial_end:
        invoice_subscription_now(api, sub, "subscription_create", now, trial_end, usage_from=None, trial=True)
        return sub
    invoice = invoice_subscription_now(api, sub, "subscription_create", now, end, usage_from=None)
    if invoice["status"] == "paid" or method == "send_invoice":
        set_status(api, sub, "active")
    elif behaviour == "error_if_incomplete":
        sub["status"] = "incomplete_expired"
        behaviour_error = (
            invoice["payments"]["data"]
            and api.state.objects[invoice["payments"]["data"][-1]["payment"]["payment_intent"]]
        )
        raise SandboxError(
            402,
            "Your card was declined.",
            type="card_error",
            code="card_declined",
            decline_code="generic_decline",
            payment_intent=public(copy_of(behaviour_error or {})),
        )
    return sub


@route("GET", "/v1/subscriptions/{id}")
def subscription_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "subscription")


@route("GET", "/v1/subscriptions")
def subscription_list(api: Api, params: dict) -> list:
    rows = api.state.all("subscription")
    status = params.get("status")
    if status and status != "all":
        rows = [s for s in rows if s["status"] == status]
    elif not status:
        rows = [s for s in rows if s["status"] not in ("canceled", "incomplete_expired")]
    for key in ("customer", "test_clock", "collection_method"):
        if params.get(key):
            rows = [s for s in rows if s.get(key) == params[key]]
    if params.get("price"):
        rows = [s for s in rows if any(i["price"]["id"] == params["price"] for i in s["items"]["data"])]
    return rows


@route("GET", "/v1/subscription_items")
def subscription_item_list(api: Api, params: dict) -> list:
    return api.state.get(need(params, "subscription"), "subscription", param="subscription")["items"]["data"]


@route("GET", "/v1/subscription_items/{id}")
def subscription_item_get(api: Api, params: dict, id: str) -> dict:
    for sub in api.state.all("subscription"):
        for item in sub["items"]["data"]:
            if item["id"] == id:
                return item
    raise SandboxError(404, f"No such subscription item: '{id}'", code="resource_missing", param="id")


@route("POST", "/v1/subscriptions/{id}")
def subscription_update(api: Api, params: dict, id: str) -> dict:
    check(
        params,
        SUB_FIELDS - {"customer", "currency", "trial_period_days"}
        | {"proration_date", "cancel_at", "pause_collection"},
    )
    sub = api.state.get(id, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise SandboxError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata.",
            code="subscription_canceled",
        )
    now = api.state.now(sub["customer"])
    at = as_int(params.get("proration_date"), "proration_date", now)
    behaviour = params.get("proration_behavior") or "create_prorations"
    if behaviour not in ("create_prorations", "none", "always_invoice"):
        raise SandboxError(
            400, "proration_behavior must be create_prorations, none or always_invoice", param="proration_behavior"
        )
    previous: dict = {}
    simple = {
        k: params[k]
        for k in ("metadata", "description", "days_until_due", "collection_method", "cancel_at")
        if k in params
    }
    tax_rates, automatic = tax_params(api, params)
    if tax_rates is not None:
        previous["default_tax_rates"] = copy_of(sub.get("default_tax_rates") or [])
        sub["default_tax_rates"] = tax_rates
    if automatic is not None:
        previous["automatic_tax"] = copy_of(sub.get("automatic_tax"))
        sub["automatic_tax"] = {
            "enabled": automatic,
            "disabled_reason": None,
            "liability": {"type": "self"} if automatic else None,
        }
    if "cancel_at_period_end" in params and sub.get("schedule") and as_bool(params["cancel_at_period_end"]):
        raise SandboxError(
            400,
            f"The subscription is managed by the subscription schedule `{sub['schedule']}`, and updating any "
            "cancelation behavior directly is not allowed. Please update the schedule instead.",
            param="cancel_at_period_end",
        )
    strict = (
        params.get("payment_behavior") == "error_if_incomplete" and sub["collection_method"] == "charge_automatically"
    )
    snapshot = copy_of(sub) if strict and params.get("items") else None
    if "cancel_at_period_end" in params:
        simple["cancel_at_period_end"] = as_bool(params["cancel_at_period_end"])
        if simple["cancel_at_period_end"]:
            sub["cancellation_details"] = {"comment": None, "feedback": None, "reason": "cancellation_requested"}
            sub["canceled_at"] = now
        else:
            sub["canceled_at"] = None
    if "default_payment_method" in params:
        value = params["default_payment_method"]
        if value:
            pm = resolve_payment_method(api.state, value, now)
            if pm.get("customer") not in (None, sub["customer"]):
                raise SandboxError(
                    400, "The payment method is attached to another customer.", param="default_payment_method"
                )
            pm["customer"] = sub["customer"]
            value = pm["id"]
        simple["default_payment_method"] = value or None
    for key, value in simple.items():
        if key == "days_until_due":
            value = as_int(value, key)
        if sub.get(key) != value:
            previous[key] = copy_of(sub.get(key))
            sub[key] = value
    if params.get("trial_end") == "now" and sub["status"] == "trialing":
        previous["trial_end"] = sub["trial_end"]
        sub["trial_end"] = now
        end_trial(api, sub, now)
    if params.get("items"):
        start, end = current_period(sub)
        if not start <= at <= max(end, now):
            raise SandboxError(
                400,
                "The proration_date must be within the subscription's current billing period.",
                param="proration_date",
            )
        new_items = changed_items(api, sub, params["items"], now)
        lines, interval_change = prorations(sub, new_items, at)
        previous["items"] = copy_of(sub["items"])
        if interval_change or params.get("billing_cycle_anchor") == "now":
            new_end = period_end(now, new_items[0]["price"]["recurring"])
            for item in new_items:
                item["current_period_start"], item["current_period_end"] = now, new_end
            sub["billing_cycle_anchor"] = now
        sub["items"]["data"] = new_items
        if behaviour != "none":
            for line in lines:
                ii = create_invoice_item(
                    api,
                    {
                        "customer": sub["customer"],
                        "amount": line["amount"],
                        "currency": sub["currency"],
                        "description": line["description"],
                        "subscription": sub["id"],
                        "period": {"start": at, "end": current_period(sub)[1]},
                    },
                )
                ii["proration"] = True
        if interval_change or params.get("billing_cycle_anchor") == "now":
            start, end = current_period(sub)
            if not strict:
                api.emit("customer.subscription.updated", sub, previous)
                previous = {}
            invoice = invoice_subscription_now(
                api, sub, "subscription_update", start, end, usage_from=None, mark_past_due=not strict
            )
            undo_if_unpaid(api, sub, invoice, snapshot)
        elif behaviour == "always_invoice" and lines:
            invoice = new_invoice(
                api,
                sub["customer"],
                currency=sub["currency"],
                billing_reason="subscription_update",
                subscription=sub,
                collection_method=sub["collection_method"],
                days_until_due=sub.get("days_until_due"),
            )
            api.emit("invoice.created", invoice)
            finalize_invoice(api, invoice)
            sub["latest_invoice"] = invoice["id"]
            if invoice["status"] == "open" and sub["collection_method"] == "charge_automatically":
                attempt_invoice_payment(api, invoice, mark_past_due=not strict)
            undo_if_unpaid(api, sub, invoice, snapshot)
    if previous:
        api.emit("customer.subscription.updated", sub, previous)
    return sub


def undo_if_unpaid(api: Api, sub: dict, invoice: dict, snapshot: dict | None) -> None:
    """`payment_behavior=error_if_incomplete`: a change whose invoice was not paid is not made. The
    invoice is voided, the subscription stays as it was, and Stripe answers 402 with the decline."""
    if snapshot is None or invoice["status"] != "open":
        return
    previous = {"status": "open"}
    invoice.update(status="void", amount_remaining=0, next_payment_attempt=None)
    invoice["status_transitions"]["voided_at"] = api.state.now(invoice["customer"])
    api.emit("invoice.voided", invoice, previous)
    sub.clear()
    sub.update(snapshot)
    api.state.dirty = True
    payments = invoice["payments"]["data"]
    intent = api.state.objects.get(payments[-1]["payment"]["payment_intent"]) if payments else None
    error = (intent or {}).get("last_payment_error") or {}
    raise SandboxError(
        402,
        error.get("message") or "The payment for this change failed; the subscription was not changed.",
        type="card_error",
        code=error.get("code") or "card_declined",
        decline_code=error.get("decline_code"),
        payment_intent=public(copy_of(intent or {})),
    )


@route("DELETE", "/v1/subscriptions/{id}")
def subscription_cancel(api: Api, params: dict, id: str) -> dict:
    check(params, {"invoice_now", "prorate", "cancellation_details"})
    sub = api.state.get(id, "subscription")
    return cancel_subscription(api, sub, params.get("cancellation_details"))


@route("POST", "/v1/subscriptions/{id}/resume")
def subscription_resume(api: Api, params: dict, id: str) -> dict:
    check(params, {"billing_cycle_anchor", "proration_behavior", "proration_date"})
    sub = api.state.get(id, "subscription")
    if sub["status"] != "paused":
        raise SandboxError(
            400,
            "Only paused subscriptions can be resumed; to undo a cancellation at period end, "
            "update cancel_at_period_end to false.",
            code="invalid_subscription_status",
        )
    set_status(api, sub, "active")
    return sub
