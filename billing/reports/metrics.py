"""Recurring revenue, defined once.

MRR of a subscription = the sum over its items of unit amount × quantity, normalised to one month
(annual ÷ 12, weekly × 52 ÷ 12, daily × 365 ÷ 12, per interval count), in the subscription's
currency's minor units, rounded half up per item. Only `active` and `past_due` subscriptions count:
trials have not paid yet, canceled ones no longer pay. Metered prices (usage billed in arrears) are
excluded: they have no amount until the period ends.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing.stripe.querysets import BILLED_SUBSCRIPTION_STATUSES

MONTHS_PER_INTERVAL = {"month": Decimal(1), "year": Decimal(12), "week": Decimal(12) / 52, "day": Decimal(12) / 365}


def _data(obj: Any) -> dict:
    return obj.stripe_data if hasattr(obj, "stripe_data") else obj


def item_monthly_amount(item: dict) -> int:
    """An item's recurring amount normalised to one month, in minor units."""
    price = item.get("price") or {}
    recurring = price.get("recurring") or {}
    if recurring.get("usage_type") == "metered" or recurring.get("interval") not in MONTHS_PER_INTERVAL:
        return 0
    unit = price.get("unit_amount") or 0
    quantity = item.get("quantity") or 1
    months = MONTHS_PER_INTERVAL[recurring["interval"]] * (recurring.get("interval_count") or 1)
    return int((Decimal(unit * quantity) / months).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def subscription_mrr(subscription: Any) -> int:
    data = _data(subscription)
    if data.get("status") not in BILLED_SUBSCRIPTION_STATUSES:
        return 0
    return sum(item_monthly_amount(item) for item in (data.get("items") or {}).get("data", []))
