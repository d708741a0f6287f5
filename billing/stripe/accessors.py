"""Reading dahlia-shaped mirror rows, where dj-stripe's own helpers are wrong or crash.

dj-stripe 2.11 reads `invoice.subscription`, `invoice.paid` and `subscription.current_period_end`,
which the dahlia API moved: the subscription of an invoice is under `parent`, payment state is
`status` plus `payments`, and billing periods live on subscription items.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def _data(obj: Any) -> dict:
    return obj.stripe_data if hasattr(obj, "stripe_data") else obj


def _when(ts: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC) if ts else None


def invoice_subscription_id(invoice: Any) -> str | None:
    parent = _data(invoice).get("parent") or {}
    return (parent.get("subscription_details") or {}).get("subscription")


def invoice_is_paid(invoice: Any) -> bool:
    return _data(invoice).get("status") == "paid"


def invoice_payment_intent_ids(invoice: Any) -> list[str]:
    payments = (_data(invoice).get("payments") or {}).get("data") or []
    ids = []
    for payment in payments:
        pi = (payment.get("payment") or {}).get("payment_intent")
        if pi:
            ids.append(pi if isinstance(pi, str) else pi.get("id"))
    return ids


def subscription_period_end(subscription: Any) -> dt.datetime | None:
    """The end of the current period: the latest item period end (dahlia keeps periods on items)."""
    data = _data(subscription)
    ends = [item.get("current_period_end") for item in (data.get("items") or {}).get("data", [])]
    ends = [e for e in ends if e]
    return _when(max(ends)) if ends else _when(data.get("current_period_end"))


def subscription_period_start(subscription: Any) -> dt.datetime | None:
    data = _data(subscription)
    starts = [item.get("current_period_start") for item in (data.get("items") or {}).get("data", [])]
    starts = [s for s in starts if s]
    return _when(min(starts)) if starts else _when(data.get("current_period_start"))


def subscription_is_live(subscription: Any) -> bool:
    return _data(subscription).get("status") in ("active", "trialing", "past_due")


def customer_country(customer: Any) -> str | None:
    address = _data(customer).get("address") or {}
    return address.get("country")
