"""The dashboard's numbers: a handful of small indexed reads of the ledgers, whatever the rows.

Everything per month comes from `MonthlyTotal` (a few hundred rows); "now" from `SubscriptionMrr`.
Amounts stay integer minor units per currency; converted totals use the FX table's rate of each
month's last day, and say which currencies had no rate.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from billing.currencies.fx import RateBook
from billing.reports.models import MonthlyTotal, MovementKind, PaymentKind, SubscriptionMrr

MOVEMENT_ORDER = [
    MovementKind.new,
    MovementKind.expansion,
    MovementKind.reactivation,
    MovementKind.contraction,
    MovementKind.churn,
]


def month_starts(count: int, today: dt.date) -> list[dt.date]:
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(dt.date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return months[::-1]


def month_end(start: dt.date) -> dt.date:
    following = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


@dataclass
class Dashboard:
    currency: str
    months: list[dt.date]
    mrr_now: int = 0
    mrr_now_by_currency: dict[str, int] = field(default_factory=dict)
    mrr_now_converted: dict[str, int | None] = field(default_factory=dict)
    active_subscriptions: int = 0
    trialing_subscriptions: int = 0
    paying_customers: int = 0
    mrr: list[int] = field(default_factory=list)  # per month, converted
    movements: dict[str, list[int]] = field(default_factory=dict)  # kind -> per month, converted
    customers: list[int] = field(default_factory=list)  # paying customers at each month's end
    logo_churn: list[float | None] = field(default_factory=list)  # percentages, for display only
    revenue_churn: list[float | None] = field(default_factory=list)
    collected: dict[str, list[int]] = field(default_factory=dict)  # currency -> per month, in that currency
    collected_converted: list[int] = field(default_factory=list)
    failed_converted: list[int] = field(default_factory=list)
    failed_count: list[int] = field(default_factory=list)
    missing_rates: set[str] = field(default_factory=set)

    @property
    def arr(self) -> int:
        return self.mrr_now * 12


def dashboard(*, months: int = 24, today: dt.date | None = None, book: RateBook | None = None) -> Dashboard:
    today = today or timezone.now().date()
    book = book or RateBook()
    window = month_starts(months, today)
    board = Dashboard(currency=book.quote, months=window)
    index = {m: i for i, m in enumerate(window)}

    mrr_delta: dict[str, list[int]] = defaultdict(lambda: [0] * months)
    mrr_base: dict[str, int] = defaultdict(int)
    kinds: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * months)
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * months)
    customers_base = 0
    payments: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * months)
    failed_count = [0] * months
    currencies: set[str] = set()
    for ledger, month, currency, kind, amount, count in MonthlyTotal.objects.values_list(
        "ledger", "month", "currency", "kind", "amount", "count"
    ):
        currencies.add(currency)
        i = index.get(month)
        customer_change = count if kind in (MovementKind.new, MovementKind.reactivation) else -count
        if ledger == "mrr":
            if i is None:
                if month < window[0]:
                    mrr_base[currency] += amount
                    if kind in (MovementKind.new, MovementKind.reactivation, MovementKind.churn):
                        customers_base += customer_change
                continue
            mrr_delta[currency][i] += amount
            kinds[(kind, currency)][i] += amount
            if kind in (MovementKind.new, MovementKind.reactivation, MovementKind.churn):
                counts[kind][i] += count
        elif i is not None:
            payments[(kind, currency)][i] += amount
            if kind == PaymentKind.failed:
                failed_count[i] += count

    board.missing_rates = book.missing(currencies)
    ends = [month_end(m) for m in window]

    def convert(amount: int, currency: str, i: int) -> int:
        return book.convert(amount, currency, ends[i]) or 0

    running = dict(mrr_base)
    board.mrr = [0] * months
    for i in range(months):
        for currency in set(running) | set(mrr_delta):
            running[currency] = running.get(currency, 0) + mrr_delta[currency][i]
            board.mrr[i] += convert(running[currency], currency, i)
    board.movements = {
        kind: [sum(convert(kinds[(kind, c)][i], c, i) for c in currencies) for i in range(months)]
        for kind in MOVEMENT_ORDER
    }
    active = customers_base
    for i in range(months):
        start_customers, start_mrr = active, (board.mrr[i - 1] if i else _converted(mrr_base, book, window[0]))
        active += counts[MovementKind.new][i] + counts[MovementKind.reactivation][i] - counts[MovementKind.churn][i]
        board.customers.append(active)
        board.logo_churn.append(
            round(100 * counts[MovementKind.churn][i] / start_customers, 1) if start_customers > 0 else None
        )
        lost = -(board.movements[MovementKind.churn][i] + board.movements[MovementKind.contraction][i])
        board.revenue_churn.append(round(100 * lost / start_mrr, 1) if start_mrr > 0 else None)

    for currency in sorted(currencies):
        collected = [
            payments[(PaymentKind.succeeded, currency)][i]
            + payments[(PaymentKind.out_of_band, currency)][i]
            - payments[(PaymentKind.refunded, currency)][i]
            for i in range(months)
        ]
        if any(collected):
            board.collected[currency] = collected
    board.collected_converted = [
        sum(convert(values[i], c, i) for c, values in board.collected.items()) for i in range(months)
    ]
    board.failed_converted = [
        sum(convert(payments[(PaymentKind.failed, c)][i], c, i) for c in currencies) for i in range(months)
    ]
    board.failed_count = failed_count

    # "Now" is where the ledger's running sums end: MRR per currency and paying customers need no
    # scan of the subscriptions; two partial indexes count subscriptions (migration 0005).
    board.active_subscriptions = SubscriptionMrr.objects.filter(mrr__gt=0).count()
    board.trialing_subscriptions = SubscriptionMrr.objects.filter(status="trialing").count()
    board.paying_customers = board.customers[-1] if board.customers else customers_base
    for currency, total in sorted(running.items()):
        if total:
            board.mrr_now_by_currency[currency] = total
            board.mrr_now_converted[currency] = book.convert(total, currency, today)
    board.mrr_now = sum(v for v in board.mrr_now_converted.values() if v is not None)
    board.missing_rates |= book.missing(board.mrr_now_by_currency)
    return board


def _converted(amounts: dict[str, int], book: RateBook, before: dt.date) -> int:
    day = before - dt.timedelta(days=1)
    return sum(book.convert(amount, currency, day) or 0 for currency, amount in amounts.items())
