"""Reads for the dunning pages: the queue, a case's timeline, recovery analytics. A fixed number of
queries per page, whatever the rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from djstripe.models import Product

from billing.currencies.fx import RateBook
from billing.dunning.models import (
    METHOD_TYPES,
    OPEN_STATUSES,
    Case,
    CaseStatus,
    OrganisationPause,
    Policy,
    Resolution,
    Restriction,
)
from billing.reports.models import PaymentFact

METHOD_LABELS = dict(METHOD_TYPES)


def queue() -> QuerySet[Case]:
    return Case.objects.select_related("organisation", "policy")


def queue_counts() -> dict[str, int]:
    counts = dict(Case.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {status.value: counts.get(status.value, 0) for status in CaseStatus}


def at_risk() -> list[tuple[str, int]]:
    """Open cases' amounts due, per currency."""
    rows = (
        Case.objects.filter(status__in=OPEN_STATUSES)
        .values("currency")
        .annotate(total=Sum("amount_due"))
        .order_by("-total")
    )
    return [(row["currency"], row["total"]) for row in rows]


def step_label(case: Case, days: list[int], day: int | None) -> str:
    if day is None:
        return "manual"
    position = days.index(day) + 1 if day in days else None
    return f"day {day}" + (f" (step {position} of {len(days)})" if position else "")


@dataclass
class TimelineEntry:
    at: dt.datetime
    kind: str  # attempt, email, event
    title: str
    detail: str = ""
    status: str = ""
    actor: str = ""


def case_detail(case_id: int) -> dict:
    case = Case.objects.select_related("organisation", "policy", "clock").get(pk=case_id)
    days = list(case.policy.steps.values_list("day", flat=True))
    entries: list[TimelineEntry] = []
    attempts = list(case.attempts.select_related("requested_by"))
    for attempt in attempts:
        what = "Manual retry" if attempt.manual else f"Attempt {attempt.number}, {step_label(case, days, attempt.step)}"
        detail = attempt.message or ""
        if attempt.decline_code:
            detail = f"{attempt.decline_code}: {detail}".strip(": ")
        entries.append(
            TimelineEntry(
                at=attempt.at or attempt.scheduled_for,
                kind="attempt",
                title=what,
                detail=detail,
                status=attempt.status,
                actor=attempt.requested_by.get_username() if attempt.requested_by else "",
            )
        )
    for email in case.emails.all():
        entries.append(
            TimelineEntry(
                at=email.at, kind="email", title=f"Email: {email.subject}", detail=f"to {email.to}", status=email.status
            )
        )
    for event in case.events.select_related("actor"):
        entries.append(
            TimelineEntry(
                at=event.at,
                kind="event",
                title=event.message,
                status=event.kind,
                actor=event.actor.get_username() if event.actor else "",
            )
        )
    order = {"event": 0, "attempt": 1, "email": 2}
    entries.sort(key=lambda e: (e.at, order[e.kind]))
    upcoming = []
    if case.is_open and case.status != CaseStatus.needs_method:
        for day in days:
            if day > case.last_step_day and len(upcoming) + case.attempts_made < case.policy.max_attempts:
                upcoming.append((day, case.opened_at + dt.timedelta(days=day)))
    paused = (
        OrganisationPause.objects.filter(organisation=case.organisation).select_related("paused_by").first()
        if case.organisation_id
        else None
    )
    return {
        "case": case,
        "timeline": entries,
        "upcoming": upcoming,
        "steps": days,
        "pause": paused,
        "restriction": Restriction.objects.filter(case=case).first(),
        "in_flight": any(a.status in ("queued", "sending", "processing") for a in attempts),
        "plan_name": Product.objects.filter(id=case.plan).values_list("stripe_data__name", flat=True).first()
        if case.plan
        else "",
    }


# --- recovery analytics ------------------------------------------------------------------------
@dataclass
class Slice:
    label: str
    ended: int = 0
    recovered: int = 0
    recovered_amount: int = 0  # reporting currency, minor units

    @property
    def rate(self) -> float | None:
        return round(100 * self.recovered / self.ended, 1) if self.ended else None


@dataclass
class Recovery:
    currency: str
    since: dt.datetime
    ended: int = 0
    recovered: int = 0
    recovered_amount: int = 0
    open_cases: int = 0
    missing_rates: set[str] = field(default_factory=set)
    by: dict[str, list[Slice]] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return round(100 * self.recovered / self.ended, 1) if self.ended else None


DIMENSIONS = ("policy", "method", "country", "currency", "attempt")


def recovery(*, days: int = 365, book: RateBook | None = None) -> Recovery:
    """Recovered amount and rate of the cases that ended in the last `days` days, sliced five ways.

    A case counts once it ended (recovered, exhausted or stopped). Money recovered and the method
    and country that paid come from the revenue ledger's payment facts (the charge that recovered
    it; the invoice itself when paid outside Stripe), converted with the FX table on the day."""
    book = book or RateBook()
    since = timezone.now() - dt.timedelta(days=days)
    result = Recovery(currency=book.quote, since=since)
    result.open_cases = Case.objects.filter(status__in=OPEN_STATUSES).count()
    ended = list(
        Case.objects.filter(closed_at__gte=since)
        .exclude(status__in=OPEN_STATUSES)
        .select_related("policy")
        .only(
            "status",
            "resolution",
            "currency",
            "amount_due",
            "recovered_amount",
            "recovered_charge_id",
            "recovered_attempt",
            "method_type",
            "country",
            "closed_at",
            "policy__name",
        )
    )
    facts = {
        row[0]: row[1:]
        for row in PaymentFact.objects.filter(
            source_id__in=[c.recovered_charge_id for c in ended if c.recovered_charge_id],
            kind__in=["succeeded", "out_of_band"],
        ).values_list("source_id", "method_type", "country", "amount", "currency")
    }
    slices: dict[str, dict[str, Slice]] = {d: {} for d in DIMENSIONS}
    for case in ended:
        fact = facts.get(case.recovered_charge_id)
        recovered = case.status == CaseStatus.recovered
        amount, currency = (fact[2], fact[3]) if fact else (case.recovered_amount, case.currency)
        converted = book.convert(amount, currency, case.closed_at.date()) if recovered else 0
        if converted is None:
            result.missing_rates.add(currency.upper())
            converted = 0
        method = (fact[0] if fact and fact[0] else case.method_type) or "unknown"
        country = (fact[1] if fact and fact[1] else case.country) or "—"
        if case.resolution == Resolution.retry and case.recovered_attempt:
            attempt = f"Attempt {case.recovered_attempt}"
        elif recovered:
            attempt = "Customer / finance"
        else:
            attempt = "Not recovered"
        keys = {
            "policy": case.policy.name,
            "method": METHOD_LABELS.get(method, method.replace("_", " ")),
            "country": country,
            "currency": case.currency.upper(),
            "attempt": attempt,
        }
        result.ended += 1
        result.recovered += recovered
        result.recovered_amount += converted
        for dimension, key in keys.items():
            row = slices[dimension].setdefault(key, Slice(key))
            row.ended += 1
            row.recovered += recovered
            row.recovered_amount += converted
    for dimension, rows in slices.items():
        ordered = sorted(rows.values(), key=lambda s: (-s.recovered_amount, s.label))
        if dimension == "attempt":
            ordered = sorted(rows.values(), key=lambda s: (not s.label.startswith("Attempt"), len(s.label), s.label))
        result.by[dimension] = ordered
    return result


def policies() -> QuerySet[Policy]:
    return (
        Policy.objects.prefetch_related("steps")
        .annotate(open_cases=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES)))
        .order_by("is_default", "priority")
    )


def recovery_by_policy_counts() -> dict[int, tuple[int, int]]:
    rows = (
        Case.objects.exclude(status__in=OPEN_STATUSES)
        .values("policy")
        .annotate(ended=Count("id"), recovered=Count("id", filter=Q(status=CaseStatus.recovered)))
    )
    return {row["policy"]: (row["ended"], row["recovered"]) for row in rows}


def paused_organisations():
    return OrganisationPause.objects.select_related("organisation", "paused_by").order_by("-paused_at")
