"""Reads of currency launches: the list, a launch's progress and who is affected, its price book,
and the acceptance report (payment success 30 days before and after each launch)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.utils import timezone
from django_countries import countries as country_names
from djstripe.models import Subscription

from accounts.models import Organisation
from billing.currencies.countries import ALL_METHODS
from billing.currencies.models import Launch, LaunchRow, LaunchStatus, RowState
from billing.reports.models import PaymentFact, PaymentKind

WINDOW = dt.timedelta(days=30)


def launches() -> QuerySet[Launch]:
    return (
        Launch.objects.select_related("created_by", "approved_by")
        .annotate(
            total_rows=Count("rows"),
            created_rows=Count("rows", filter=Q(rows__state__in=[RowState.created, RowState.archived])),
            flagged_rows=Count("rows", filter=~Q(rows__flags=[])),
        )
        .order_by("-created_at", "-id")
    )


def get_launch(pk: int) -> Launch:
    return Launch.objects.select_related(
        "created_by", "previewed_by", "approved_by", "started_by", "rolled_back_by"
    ).get(pk=pk)


@dataclass
class Progress:
    status: str
    total: int
    done: int
    failed: int
    percent: int
    per_second: float | None
    eta_seconds: int | None
    paused_until: dt.datetime | None
    last_error: str
    verb: str  # what the job does: "created" or "archived"

    @property
    def active(self) -> bool:
        return self.status in (LaunchStatus.running, LaunchStatus.rolling_back)


def progress(launch: Launch) -> Progress:
    """Counts by state (one query) and the pace over the last 30 seconds (one more)."""
    counts = dict(launch.rows.values_list("state").annotate(n=Count("id")))
    total = sum(counts.values())
    rolling = launch.status in (LaunchStatus.rolling_back, LaunchStatus.rolled_back)
    if rolling:
        total = counts.get(RowState.created, 0) + counts.get(RowState.archived, 0)
        done = counts.get(RowState.archived, 0)
    else:
        done = counts.get(RowState.created, 0) + counts.get(RowState.archived, 0)
    failed = counts.get(RowState.failed, 0)
    per_second = eta = None
    if launch.status in (LaunchStatus.running, LaunchStatus.rolling_back):
        recent = launch.rows.filter(done_at__gte=timezone.now() - dt.timedelta(seconds=30)).count()
        if recent:
            per_second = round(recent / 30, 1)
            eta = int((total - done - failed) / (recent / 30))
    return Progress(
        status=launch.status,
        total=total,
        done=done,
        failed=failed,
        percent=int(100 * done / total) if total else 0,
        per_second=per_second,
        eta_seconds=eta,
        paused_until=launch.paused_until if launch.paused_until and launch.paused_until > timezone.now() else None,
        last_error=launch.last_error,
        verb="archived" if rolling else "created",
    )


@dataclass
class Audience:
    """Who a launch reaches: new organisations from go-live; existing ones keep their currency."""

    existing: int
    existing_currencies: list[str]
    since_live: int


def audience(launch: Launch) -> Audience:
    """Organisations of the launch's countries from before it went live (all, before it does), and
    the currencies their subscriptions bill in."""
    orgs = Organisation.objects.filter(country__in=launch.countries)
    pivot = launch.went_live_at
    before = orgs.filter(created_at__lt=pivot) if pivot else orgs
    currencies = (
        Subscription.objects.filter(customer__organisation__in=before)
        .values_list("stripe_data__currency", flat=True)
        .distinct()
    )
    return Audience(
        existing=before.count(),
        existing_currencies=sorted({c for c in currencies if c}),
        since_live=orgs.filter(created_at__gte=pivot).count() if pivot else 0,
    )


def book_rows(launch: Launch, *, show: str = "all") -> QuerySet[LaunchRow]:
    rows = launch.rows.select_related("override_by").order_by("product_name", "interval", "id")
    if show == "flagged":
        rows = rows.exclude(flags=[])
    elif show == "overridden":
        rows = rows.exclude(override_amount=None)
    elif show == "failed":
        rows = rows.filter(state=RowState.failed)
    return rows


def country_label(code: str) -> str:
    return f"{dict(country_names).get(code, code)} ({code})"


def method_label(kind: str) -> str:
    method = ALL_METHODS.get(kind)
    return method.label if method else (kind or "unknown").replace("_", " ")


# --- acceptance ------------------------------------------------------------------------------------
@dataclass
class Cell:
    succeeded: int = 0
    failed: int = 0

    @property
    def attempts(self) -> int:
        return self.succeeded + self.failed

    @property
    def rate(self) -> Decimal | None:
        if not self.attempts:
            return None
        return (Decimal(100) * self.succeeded / self.attempts).quantize(Decimal("0.1"))


@dataclass
class AcceptanceRow:
    country: str
    currency: str
    method: str
    before: Cell = field(default_factory=Cell)
    after: Cell = field(default_factory=Cell)

    @property
    def change(self) -> Decimal | None:
        if self.before.rate is None or self.after.rate is None:
            return None
        return self.after.rate - self.before.rate

    @property
    def method_name(self) -> str:
        return method_label(self.method)

    @property
    def label(self) -> str:
        return f"{self.country} · {self.currency.upper()} · {self.method_name}"


@dataclass
class Acceptance:
    launch: Launch
    start: dt.datetime
    pivot: dt.datetime
    end: dt.datetime
    rows: list[AcceptanceRow]
    total: AcceptanceRow

    @property
    def after_days(self) -> int:
        return max(0, (self.end - self.pivot).days)


def acceptance(launch: Launch, *, now: dt.datetime | None = None) -> Acceptance | None:
    """Payment outcomes in the launch's countries, 30 days before and after it went live, by
    country × currency × payment method type. One query."""
    if launch.went_live_at is None:
        return None
    now = now or timezone.now()
    pivot = launch.went_live_at
    start, end = pivot - WINDOW, min(pivot + WINDOW, now)
    if launch.rolled_back_at:  # after a rollback new organisations no longer get the currency
        end = max(pivot, min(end, launch.rolled_back_at))
    facts = (
        PaymentFact.objects.filter(
            country__in=launch.countries,
            kind__in=[PaymentKind.succeeded, PaymentKind.failed],
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .annotate(period=Case(When(occurred_at__lt=pivot, then=Value("before")), default=Value("after")))
        .values_list("country", "currency", "method_type", "period", "kind")
        .annotate(n=Count("id"))
    )
    table: dict[tuple, AcceptanceRow] = {}
    total = AcceptanceRow("", "", "all")
    for country, currency, method, period, kind, n in facts:
        row = table.setdefault((country, currency, method), AcceptanceRow(country, currency, method))
        for target in (row, total):
            cell = getattr(target, period)
            if kind == PaymentKind.succeeded:
                cell.succeeded += n
            else:
                cell.failed += n
    rows = sorted(table.values(), key=lambda r: (r.country, r.currency != launch.currency, r.currency, r.method))
    return Acceptance(launch=launch, start=start, pivot=pivot, end=end, rows=rows, total=total)


def launched() -> QuerySet[Launch]:
    """Launches that went live (including those rolled back since), newest first."""
    return Launch.objects.exclude(went_live_at=None).order_by("-went_live_at")
