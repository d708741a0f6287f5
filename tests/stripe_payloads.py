"""Stripe-shaped objects and signed events at the pinned (dahlia) API version, for tests and benchmarks."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time

API_VERSION = "2026-08-26.dahlia"
_seq = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_seq):014d}"


def customer(
    id: str | None = None,
    *,
    email: str = "billing@acme.example",
    name: str = "Acme",
    country: str = "DE",
    created: int = 1_760_000_000,
    **extra,
) -> dict:
    return {
        "id": id or _id("cus"),
        "object": "customer",
        "address": {
            "city": "Berlin",
            "country": country,
            "line1": "1 Street",
            "line2": None,
            "postal_code": "10115",
            "state": None,
        },
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": email,
        "invoice_prefix": "ACME",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": name,
        "phone": None,
        "preferred_locales": ["de-DE"],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
        **extra,
    }


def product(id: str | None = None, *, name: str = "Pro") -> dict:
    return {
        "id": id or _id("prod"),
        "object": "product",
        "active": True,
        "created": 1_760_000_000,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": 1_760_000_000,
        "url": None,
    }


def price(
    id: str | None = None,
    *,
    product_id: str = "prod_pro",
    currency: str = "usd",
    unit_amount: int = 875,
    interval: str = "month",
) -> dict:
    return {
        "id": id or _id("price"),
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": 1_760_000_000,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": f"pro_{interval}ly_{currency}",
        "metadata": {},
        "nickname": f"Pro {interval}ly",
        "product": product_id,
        "recurring": {"interval": interval, "interval_count": 1, "meter": None, "usage_type": "licensed"},
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def subscription(
    id: str | None = None,
    *,
    customer_id: str = "cus_acme",
    status: str = "active",
    items: list[dict] | None = None,
    quantity: int = 5,
    the_price: dict | None = None,
    period_start: int = 1_760_000_000,
    created: int = 1_760_000_000,
) -> dict:
    sub_id = id or _id("sub")
    the_price = the_price or price("price_pro_monthly_usd", product_id="prod_pro")
    items = items if items is not None else [subscription_item(sub_id, the_price, quantity, period_start)]
    return {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "automatic_tax": {"enabled": False, "liability": None},
        "billing_cycle_anchor": period_start,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": the_price["currency"],
        "customer": customer_id,
        "days_until_due": None,
        "default_payment_method": None,
        "description": None,
        "discounts": [],
        "ended_at": None,
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": {},
        "start_date": period_start,
        "status": status,
        "test_clock": None,
        "trial_end": None,
        "trial_start": None,
    }


def subscription_item(sub_id: str, the_price: dict, quantity: int, period_start: int, id: str | None = None) -> dict:
    end = period_start + (31 if the_price["recurring"]["interval"] == "month" else 365) * 86400
    return {
        "id": id or _id("si"),
        "object": "subscription_item",
        "created": period_start,
        "current_period_end": end,
        "current_period_start": period_start,
        "discounts": [],
        "metadata": {},
        "price": the_price,
        "quantity": quantity,
        "subscription": sub_id,
        "tax_rates": [],
    }


def invoice(
    id: str | None = None,
    *,
    customer_id: str = "cus_acme",
    subscription_id: str | None = "sub_acme",
    status: str = "open",
    amount_due: int = 4375,
    currency: str = "usd",
    attempt_count: int = 0,
    created: int = 1_760_000_000,
) -> dict:
    inv_id = id or _id("in")
    parent = (
        {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription_id},
        }
        if subscription_id
        else None
    )
    return {
        "id": inv_id,
        "object": "invoice",
        "account_country": "US",
        "amount_due": amount_due,
        "amount_paid": amount_due if status == "paid" else 0,
        "amount_remaining": 0 if status == "paid" else amount_due,
        "attempt_count": attempt_count,
        "attempted": attempt_count > 0,
        "auto_advance": True,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "customer": customer_id,
        "customer_email": "billing@acme.example",
        "default_payment_method": None,
        "description": None,
        "due_date": None,
        "hosted_invoice_url": f"http://127.0.0.1/invoices/{inv_id}",
        "invoice_pdf": None,
        "livemode": False,
        "lines": {
            "object": "list",
            "has_more": False,
            "url": f"/v1/invoices/{inv_id}/lines",
            "data": [
                {
                    "id": _id("il"),
                    "object": "line_item",
                    "amount": amount_due,
                    "currency": currency,
                    "description": "5 × Pro",
                    "invoice": inv_id,
                    "livemode": False,
                    "metadata": {},
                    "parent": {
                        "type": "subscription_item_details",
                        "invoice_item_details": None,
                        "subscription_item_details": {
                            "subscription": subscription_id,
                            "subscription_item": None,
                            "proration": False,
                            "invoice_item": None,
                        },
                    },
                    "period": {"start": created, "end": created + 31 * 86400},
                    "quantity": 5,
                    "pricing": {
                        "type": "price_details",
                        "unit_amount_decimal": "875",
                        "price_details": {"price": "price_pro_monthly_usd", "product": "prod_pro"},
                    },
                }
            ],
        },
        "metadata": {},
        "next_payment_attempt": None,
        "number": f"ACME-{next(_seq):04d}",
        "parent": parent,
        "payments": {"object": "list", "data": [], "has_more": False},
        "period_end": created,
        "period_start": created - 31 * 86400,
        "status": status,
        "subtotal": amount_due,
        "total": amount_due,
    }


def event(
    obj: dict,
    type: str,
    *,
    created: int | None = None,
    id: str | None = None,
    previous_attributes: dict | None = None,
    api_version: str = API_VERSION,
) -> dict:
    data: dict = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": id or _id("evt"),
        "object": "event",
        "api_version": api_version,
        "created": created if created is not None else int(time.time()),
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def sign(body: bytes | str, secret: str, *, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header exactly as Stripe computes it."""
    if isinstance(body, str):
        body = body.encode()
    ts = timestamp if timestamp is not None else int(time.time())
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def signed(evt: dict, secret: str, **kwargs) -> tuple[bytes, str]:
    body = json.dumps(evt).encode()
    return body, sign(body, secret, **kwargs)


def event_stream(total: int = 10_000, *, seed: int = 7, start: int = 1_760_000_000):
    """A realistic mix of customer, subscription and invoice events, `total` in all.

    Returns (events in creation order, expected final state: {object id: payload, or None if deleted}).
    Each object's events are one second apart, so their order is unambiguous.
    """
    import random

    rng = random.Random(seed)
    events: list[dict] = []
    prices = [
        price(f"price_stream_{c}_{i}", product_id="prod_stream", currency=c, unit_amount=a, interval=i)
        for c, a in (("usd", 875), ("eur", 800), ("jpy", 1050), ("kwd", 2700))
        for i in ("month", "year")
    ]
    n = 0
    while len(events) < total:
        n += 1
        t = start + n * 100
        cus_id = f"cus_stream_{n:06d}"
        cus = customer(cus_id, email=f"c{n}@stream.example", created=t)
        events.append(event(cus, "customer.created", created=t))
        if n % 20 == 0:  # a customer that leaves before subscribing
            events.append(event({**cus, "deleted": True}, "customer.deleted", created=t + 1))
            continue
        cus = {**cus, "email": f"c{n}.billing@stream.example"}
        events.append(
            event(cus, "customer.updated", created=t + 1, previous_attributes={"email": f"c{n}@stream.example"})
        )
        sub_id = f"sub_stream_{n:06d}"
        the_price = rng.choice(prices)
        item_id = f"si_stream_{n:06d}"
        sub = subscription(
            sub_id,
            customer_id=cus_id,
            the_price=the_price,
            quantity=rng.randint(1, 50),
            created=t + 2,
            period_start=t + 2,
            items=[subscription_item(sub_id, the_price, 3, t + 2, id=item_id)],
        )
        events.append(event(sub, "customer.subscription.created", created=t + 2))
        for step in range(rng.randint(1, 3)):
            new_price = rng.choice(prices)
            new_item = f"si_stream_{n:06d}_{step}" if new_price is not the_price else item_id
            sub = {
                **sub,
                "items": {
                    **sub["items"],
                    "data": [subscription_item(sub_id, new_price, rng.randint(1, 80), t + 2, id=new_item)],
                },
            }
            events.append(event(sub, "customer.subscription.updated", created=t + 3 + step))
        if n % 7 == 0:
            sub = {**sub, "status": "canceled", "ended_at": t + 10}
            events.append(event(sub, "customer.subscription.deleted", created=t + 10))
        inv_id = f"in_stream_{n:06d}"
        inv = invoice(inv_id, customer_id=cus_id, subscription_id=sub_id, status="draft", created=t + 11)
        events.append(event(inv, "invoice.created", created=t + 11))
        inv = {**inv, "status": "open"}
        events.append(event(inv, "invoice.finalized", created=t + 12))
        if n % 5 == 0:
            inv = {**inv, "attempt_count": 1, "attempted": True}
            events.append(event(inv, "invoice.payment_failed", created=t + 13))
        else:
            inv = {**inv, "status": "paid", "amount_paid": inv["amount_due"], "amount_remaining": 0}
            events.append(event(inv, "invoice.paid", created=t + 14))
    events = events[:total]
    latest: dict[str, dict] = {}
    for evt in events:  # per object the newest event is the truth (each object's events are 1 s apart)
        obj = evt["data"]["object"]
        if obj["id"] not in latest or latest[obj["id"]]["created"] < evt["created"]:
            latest[obj["id"]] = evt
    final = {}
    for object_id, evt in latest.items():
        deleted = evt["data"]["object"].get("deleted") or (evt["type"] == "customer.deleted")
        final[object_id] = None if deleted else evt["data"]["object"]
    return events, final


def store_events(events: list[dict]) -> None:
    """Insert events as the intake would have stored them (status received), in bulk."""
    import datetime as dt

    from billing.stripe.models import StripeEvent

    StripeEvent.objects.bulk_create(
        [
            StripeEvent(
                id=e["id"],
                type=e["type"],
                api_version=e["api_version"],
                created=dt.datetime.fromtimestamp(e["created"], dt.UTC),
                object_type=e["data"]["object"]["object"],
                object_id=e["data"]["object"]["id"],
                payload=e,
            )
            for e in events
        ],
        batch_size=1000,
    )
