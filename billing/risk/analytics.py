"""Dispute outcomes: won and lost, win rate and amount lost, by reason and by country; the dispute
rate per country against the payments collected there. Amounts in the reporting currency."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum
from django.utils import timezone

from billing.reports.models import PaymentFact, PaymentKind
from billing.risk.cases import reporting_currency
from billing.risk.models import CLOSED_STATUSES, NEEDS_RESPONSE, UNDER_REVIEW, DisputeCase


@dataclass
class Row:
    key: str
    label: str
    won: int = 0
    lost: int = 0
    open: int = 0
    amount_lost: int = 0
    unconverted: int = 0  # lost disputes without an FX rate (left out of amount_lost)
    payments: int | None = None

    @property
    def decided(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> int | None:
        return round(100 * self.won / self.decided) if self.decided else None

    @property
    def dispute_rate(self) -> str:
        total = self.decided + self.open
        if not self.payments:
            return "—"
        return f"{100 * total / self.payments:.2f} %"


@dataclass
class Outcomes:
    currency: str
    since: dt.datetime
    total: Row
    by_reason: list[Row] = field(default_factory=list)
    by_country: list[Row] = field(default_factory=list)
    at_stake: int = 0  # open disputes' amount, reporting currency


def _rows(since: dt.datetime, key: str, labels) -> list[Row]:
    base = DisputeCase.objects.filter(created_at__gte=since)
    grouped = base.values(key).annotate(
        won=Count("pk", filter=Q(status="won")),
        lost=Count("pk", filter=Q(status="lost")),
        open=Count("pk", filter=Q(status__in=NEEDS_RESPONSE + UNDER_REVIEW)),
        amount_lost=Sum("amount_reporting", filter=Q(status="lost")),
        unconverted=Count("pk", filter=Q(status="lost", amount_reporting__isnull=True)),
    )
    rows = [
        Row(
            key=g[key] or "",
            label=labels(g[key]) if g[key] else "Unknown",
            won=g["won"],
            lost=g["lost"],
            open=g["open"],
            amount_lost=g["amount_lost"] or 0,
            unconverted=g["unconverted"],
        )
        for g in grouped
    ]
    return sorted(rows, key=lambda r: (-r.amount_lost, -r.lost, -r.decided, r.label))


def dispute_outcomes(*, days: int = 365) -> Outcomes:
    from django_countries import countries

    since = timezone.now() - dt.timedelta(days=days)
    by_reason = _rows(since, "reason", lambda r: r.replace("_", " ").capitalize())
    by_country = _rows(since, "country", lambda c: f"{dict(countries).get(c, c)} ({c})")
    payments = dict(
        PaymentFact.objects.filter(kind=PaymentKind.succeeded, occurred_at__gte=since)
        .values("country")
        .annotate(n=Count("pk"))
        .values_list("country", "n")
    )
    for row in by_country:
        row.payments = payments.get(row.key)
    total = Row(key="", label="All disputes", payments=sum(payments.values()) or None)
    for row in by_reason:
        total.won += row.won
        total.lost += row.lost
        total.open += row.open
        total.amount_lost += row.amount_lost
        total.unconverted += row.unconverted
    at_stake = DisputeCase.objects.exclude(status__in=CLOSED_STATUSES).aggregate(s=Sum("amount_reporting"))["s"] or 0
    return Outcomes(reporting_currency(), since, total, by_reason, by_country, at_stake)
