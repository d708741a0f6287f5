"""Writing the revenue ledgers: a subscription's MRR as the mirror now has it, a payment outcome.

Each write is idempotent (a repeated event records nothing new) and keeps `MonthlyTotal` in step
in the same transaction. Changes of one customer are serialised by a row lock, so concurrent
workers classify movements against the same totals.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import connection, transaction
from django.db.models import Q, Sum
from djstripe.models import Coupon, Discount

from billing.reports import metrics
from billing.reports.models import MonthlyTotal, MovementKind, MrrMovement, PaymentFact, SubscriptionMrr


def month_of(moment: dt.datetime) -> dt.date:
    moment = moment.astimezone(dt.UTC)
    return dt.date(moment.year, moment.month, 1)


def bump_month(*, ledger: str, moment: dt.datetime, currency: str, kind: str, amount: int, count: int = 1) -> None:
    """Add to the month's total in one statement (an upsert that adds, safe under concurrency)."""
    table = connection.ops.quote_name(MonthlyTotal._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (ledger, month, currency, kind, amount, count) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (ledger, month, currency, kind) DO UPDATE SET "
            f"amount = {table}.amount + EXCLUDED.amount, count = {table}.count + EXCLUDED.count",
            [ledger, month_of(moment), currency, kind, amount, count],
        )


def coupons_for(subscription: dict) -> list[dict]:
    """Coupons of the discounts that apply to this subscription now: its own, and its customer's."""
    discounts = Discount.objects.filter(
        Q(subscription_id=subscription["id"]) | Q(customer_id=subscription.get("customer"), subscription__isnull=True),
        livemode__isnull=False,
    ).values_list("stripe_data", flat=True)
    coupon_ids, coupons = [], []
    for discount in discounts:
        if discount.get("end") and discount["end"] <= time.time():
            continue
        source = discount.get("coupon") or (discount.get("source") or {}).get("coupon")
        if isinstance(source, dict):
            coupons.append(source)
        elif source:
            coupon_ids.append(source)
    if coupon_ids:
        coupons += list(Coupon.objects.filter(id__in=coupon_ids).values_list("stripe_data", flat=True))
    return coupons


def classify(*, before: int, after: int, paid_before: bool) -> str:
    """What a change of a customer's total MRR (in one currency) means."""
    if before == 0:
        return MovementKind.reactivation if paid_before else MovementKind.new
    if after == 0:
        return MovementKind.churn
    return MovementKind.expansion if after > before else MovementKind.contraction


@transaction.atomic
def record_subscription(
    subscription: dict, *, effective_at: dt.datetime, source: str, coupons: list[dict] | None = None
) -> MrrMovement | None:
    """Record the subscription's MRR as `subscription` states it, at `effective_at`. Returns the
    movement, or None when its MRR did not change."""
    sub_id, customer_id = subscription["id"], subscription.get("customer") or ""
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id", "")
    currency = (subscription.get("currency") or "").lower()
    new = metrics.subscription_mrr(subscription, coupons_for(subscription) if coupons is None else coupons)
    # Lock the customer's rows: two of its subscriptions changing at once are classified in turn.
    rows = list(SubscriptionMrr.objects.select_for_update().filter(customer_id=customer_id))
    current = next((r for r in rows if r.pk == sub_id), None)
    old = current.mrr if current else 0
    status = subscription.get("status") or ""
    if new == old:
        if current and current.status != status:
            SubscriptionMrr.objects.filter(pk=sub_id).update(status=status)
        elif current is None and status:
            SubscriptionMrr.objects.create(
                subscription_id=sub_id, customer_id=customer_id, currency=currency, mrr=0, status=status
            )
        return None
    others = sum(r.mrr for r in rows if r.pk != sub_id and r.currency == currency)
    paid_before = MrrMovement.objects.filter(customer_id=customer_id, currency=currency).exists()
    kind = classify(before=others + old, after=others + new, paid_before=paid_before)
    SubscriptionMrr.objects.update_or_create(
        subscription_id=sub_id,
        defaults={
            "customer_id": customer_id,
            "currency": currency,
            "mrr": new,
            "status": status,
            "updated_at": effective_at,
        },
    )
    movement = MrrMovement.objects.create(
        subscription_id=sub_id,
        customer_id=customer_id,
        currency=currency,
        kind=kind,
        amount=new - old,
        mrr_after=new,
        effective_at=effective_at,
        source=source[:255],
    )
    bump_month(
        ledger="mrr",
        moment=effective_at,
        currency=currency,
        kind=kind,
        amount=new - old,
    )
    return movement


@transaction.atomic
def record_payment(
    *,
    source_id: str,
    kind: str,
    amount: int,
    currency: str,
    occurred_at: dt.datetime,
    customer_id: str = "",
    invoice_id: str = "",
    method_type: str = "",
    country: str = "",
    failure_code: str = "",
) -> PaymentFact | None:
    """Record one payment outcome once (a repeated event finds it and records nothing)."""
    fact, created = PaymentFact.objects.get_or_create(
        kind=kind,
        source_id=source_id,
        defaults={
            "amount": amount,
            "currency": currency.lower(),
            "occurred_at": occurred_at,
            "customer_id": customer_id or "",
            "invoice_id": invoice_id or "",
            "method_type": method_type or "",
            "country": (country or "")[:2],
            "failure_code": (failure_code or "")[:64],
        },
    )
    if not created:
        return None
    bump_month(ledger="payments", moment=occurred_at, currency=fact.currency, kind=kind, amount=amount)
    return fact


def totals_by_currency() -> dict[str, int]:
    """MRR now per currency, from the ledger."""
    rows = SubscriptionMrr.objects.values("currency").annotate(total=Sum("mrr"))
    return {row["currency"]: row["total"] or 0 for row in rows if row["total"]}
