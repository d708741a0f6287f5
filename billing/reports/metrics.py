"""Recurring revenue, defined once (the dashboard shows these definitions beside each figure).

MRR of a subscription = the sum over its items of unit amount × quantity, normalised to one month
(annual ÷ 12, weekly × 52 ÷ 12, daily × 365 ÷ 12, per interval count), less the discounts that
apply to it now (percent off the total; amount off per billing period, spread over its months),
in the subscription's currency's minor units, rounded half up once per subscription.

- Only `active` and `past_due` subscriptions count: a trial has not paid yet, a canceled, unpaid or
  incomplete one does not pay. A subscription set to cancel at period end counts until it ends.
- Metered prices (usage billed in arrears) are excluded: they have no amount until the period ends.
- ARR = MRR × 12.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing.stripe.querysets import BILLED_SUBSCRIPTION_STATUSES

MONTHS_PER_INTERVAL = {"month": Decimal(1), "year": Decimal(12), "week": Decimal(12) / 52, "day": Decimal(12) / 365}

DEFINITIONS = {
    "mrr": "Active and past-due subscriptions, per-seat price × seats, annual ÷ 12, less current discounts. "
    "Trials and metered usage excluded; a subscription ending at period end counts until it ends.",
    "arr": "MRR × 12.",
    "movements": "Each change of a customer's MRR: new (first ever), expansion and contraction (while paying), "
    "churn (to zero), reactivation (back from zero). Dated when Stripe reported the change.",
    "logo_churn": "Customers whose MRR went to zero in the month ÷ paying customers at the start of the month.",
    "revenue_churn": "Churned and contracted MRR in the month ÷ MRR at the start of the month.",
    "collected": "Successful charges and invoices paid outside Stripe, less refunds, by the day money moved.",
    "failed": "Charges that failed (declines, bank debits that bounced), by the day they failed.",
    "converted": "Converted to the reporting currency with the FX table's rate of each month's last day.",
}


def _data(obj: Any) -> dict:
    return obj.stripe_data if hasattr(obj, "stripe_data") else obj


def _months(recurring: dict) -> Decimal | None:
    interval = recurring.get("interval")
    if interval not in MONTHS_PER_INTERVAL:
        return None
    return MONTHS_PER_INTERVAL[interval] * (recurring.get("interval_count") or 1)


def item_monthly_amount(item: dict) -> Decimal:
    """An item's recurring amount normalised to one month, in minor units (not yet rounded)."""
    price = item.get("price") or {}
    recurring = price.get("recurring") or {}
    months = _months(recurring)
    if months is None or recurring.get("usage_type") == "metered":
        return Decimal(0)
    unit = Decimal(price.get("unit_amount_decimal") or price.get("unit_amount") or 0)
    return unit * (item.get("quantity") or 1) / months


def subscription_months(data: dict) -> Decimal:
    """How many months one billing period of the subscription lasts (for amount-off discounts)."""
    for item in (data.get("items") or {}).get("data", []):
        months = _months((item.get("price") or {}).get("recurring") or {})
        if months:
            return months
    return Decimal(1)


def subscription_mrr(subscription: Any, coupons: Iterable[dict] = ()) -> int:
    """MRR in minor units; `coupons`: the coupons of the discounts that apply to the subscription now."""
    data = _data(subscription)
    if data.get("status") not in BILLED_SUBSCRIPTION_STATUSES:
        return 0
    subtotal = sum((item_monthly_amount(i) for i in (data.get("items") or {}).get("data", [])), Decimal(0))
    off = Decimal(0)
    for coupon in coupons:
        if coupon.get("percent_off"):
            off += subtotal * Decimal(str(coupon["percent_off"])) / 100
        elif coupon.get("amount_off") and (coupon.get("currency") or "").lower() == data.get("currency"):
            off += Decimal(coupon["amount_off"]) / subscription_months(data)
    total = max(Decimal(0), subtotal - off)
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
