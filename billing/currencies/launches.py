"""Writes of currency launches: create, edit, preview, override, approve (four eyes), start, retry,
roll back. Each checks the launch's state under a row lock, refuses bad input with a sentence that
says what to do, and is audited. Nothing here talks to Stripe: the job does (`jobs.py`).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_countries import countries as country_names
from djstripe.models import Price

from accounts.audit import audit
from billing.catalog.models import SelfServeOffer
from billing.currencies import book, fx
from billing.currencies.countries import currency_for_country, local_methods_in
from billing.currencies.models import CountryCurrency, Launch, LaunchRow, LaunchStatus, RowState
from billing.currencies.rounding import RoundingRule
from billing.currencies.services import clean_currency
from billing.money import format_money
from billing.stripe import queue

WORK_TASK = "billing.currencies.tasks.launch_work"
EDITABLE = {LaunchStatus.draft, LaunchStatus.previewed}
# A country in one of these launches is spoken for: no second launch may include it.
OPEN = {
    LaunchStatus.draft,
    LaunchStatus.previewed,
    LaunchStatus.approved,
    LaunchStatus.running,
    LaunchStatus.failed,
    LaunchStatus.rolling_back,
}


class LaunchError(ValueError):
    """A refused step: `errors` are sentences to show as they are."""

    def __init__(self, errors: str | list[str]):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(self.errors))


# --- input ----------------------------------------------------------------------------------------
def clean_countries(values) -> list[str]:
    if isinstance(values, str):
        values = values.replace(";", ",").replace(" ", ",").split(",")
    codes = sorted({(v or "").strip().upper() for v in values if (v or "").strip()})
    if not codes:
        raise ValueError("name at least one country (ISO codes such as JP, or SE, NO)")
    unknown = [c for c in codes if c not in dict(country_names)]
    if unknown:
        verb = "is not a country code" if len(unknown) == 1 else "are not country codes"
        raise ValueError(f"{', '.join(unknown)} {verb}")
    return codes


def clean_tolerance(value) -> Decimal:
    try:
        tolerance = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{value!r} is not a percentage") from None
    if not tolerance.is_finite() or tolerance <= 0 or tolerance > 100:
        raise ValueError("the sibling tolerance is a percentage above 0 and at most 100")
    return tolerance.quantize(Decimal("0.01"))


def _settings_errors(
    *, launch: Launch | None, currency: str, source: str, countries, mode: str, ending: str, tolerance
) -> tuple[list[str], dict]:
    errors, clean = [], {}
    for name, value in (("currency", currency), ("source_currency", source)):
        try:
            clean[name] = clean_currency(value)
        except ValueError as error:
            errors.append(f"{'Currency' if name == 'currency' else 'Source currency'}: {error}")
    if clean.get("currency") and clean.get("currency") == clean.get("source_currency"):
        errors.append("The currency launched must differ from the currency its prices are converted from")
    try:
        clean["countries"] = clean_countries(countries)
    except ValueError as error:
        errors.append(f"Countries: {error}")
    try:
        clean["sibling_tolerance"] = clean_tolerance(tolerance)
    except ValueError as error:
        errors.append(f"Tolerance: {error}")
    rule = RoundingRule(mode=mode, ending=(ending or "").strip())
    if clean.get("currency"):
        try:
            rule.check(clean["currency"])
        except ValueError as error:
            errors.append(f"Rounding: {error}")
    clean["rounding_mode"], clean["charm_ending"] = rule.mode, rule.ending
    if clean.get("currency") and clean.get("countries"):
        errors += _country_conflicts(clean["countries"], clean["currency"], launch)
    return errors, clean


def _country_conflicts(countries: list[str], currency: str, launch: Launch | None) -> list[str]:
    errors = []
    priced = Price.objects.filter(currency=currency, active=True).exists()
    for country in countries:
        if priced and currency_for_country(country) == currency:
            errors.append(f"{country} already bills new organisations in {currency.upper()}")
    others = Launch.objects.filter(status__in=OPEN).exclude(pk=launch.pk if launch else None)
    for other in others:
        shared = sorted(set(other.countries) & set(countries))
        if shared:
            errors.append(
                f"{', '.join(shared)} {'is' if len(shared) == 1 else 'are'} in launch #{other.pk} "
                f"({other.currency.upper()}, {other.get_status_display().lower()}): finish or roll it back first"
            )
    return errors


def locked(launch: Launch) -> Launch:
    return Launch.objects.select_for_update().get(pk=launch.pk)


# --- drafting -------------------------------------------------------------------------------------
@transaction.atomic
def launch_create(
    *,
    currency: str,
    countries,
    actor,
    source_currency: str | None = None,
    rounding_mode: str = "nearest",
    charm_ending: str = "",
    sibling_tolerance="10",
    note: str = "",
) -> Launch:
    errors, clean = _settings_errors(
        launch=None,
        currency=currency,
        source=source_currency or fx.reporting_currency(),
        countries=countries,
        mode=rounding_mode,
        ending=charm_ending,
        tolerance=sibling_tolerance,
    )
    if errors:
        raise LaunchError(errors)
    launch = Launch.objects.create(created_by=actor, note=(note or "").strip()[:500], **clean)
    audit(
        actor,
        "currency_launch.create",
        launch,
        currency=launch.currency,
        countries=launch.countries,
        source=launch.source_currency,
    )
    return launch


@transaction.atomic
def launch_update(
    *, launch: Launch, actor, countries, rounding_mode: str, charm_ending: str, sibling_tolerance, note: str = ""
) -> Launch:
    """Change a draft or previewed launch; a changed rule or country list needs a new preview."""
    launch = locked(launch)
    if launch.status not in EDITABLE:
        raise LaunchError(f"This launch is {launch.get_status_display().lower()}: its settings are frozen")
    errors, clean = _settings_errors(
        launch=launch,
        currency=launch.currency,
        source=launch.source_currency,
        countries=countries,
        mode=rounding_mode,
        ending=charm_ending,
        tolerance=sibling_tolerance,
    )
    if errors:
        raise LaunchError(errors)
    changed = {k: v for k, v in clean.items() if getattr(launch, k) != v}
    for key, value in changed.items():
        setattr(launch, key, value)
    launch.note = (note or "").strip()[:500]
    if changed and launch.status == LaunchStatus.previewed:
        launch.status = LaunchStatus.draft  # the book no longer matches: preview again
    launch.save()
    audit(actor, "currency_launch.update", launch, changed={k: str(v) for k, v in changed.items()})
    return launch


@transaction.atomic
def launch_preview(*, launch: Launch, actor, today: dt.date | None = None) -> Launch:
    """Build the price book from fresh FX rates and the rule; overrides of prices still in the
    catalog are kept (and re-checked)."""
    launch = locked(launch)
    if launch.status not in EDITABLE:
        raise LaunchError(f"This launch is {launch.get_status_display().lower()}: its price book is frozen")
    today = today or timezone.now().date()
    try:
        rate, as_of, source = fx.cross_rate(launch.source_currency, launch.currency, today=today)
    except fx.StaleRate as error:
        raise LaunchError(f"No preview: {error}") from None
    rule = RoundingRule(launch.rounding_mode, launch.charm_ending)
    drafts, minimum, basis = book.build(
        source=launch.source_currency,
        target=launch.currency,
        rate=rate,
        rule=rule,
        tolerance=launch.sibling_tolerance,
        day=today,
    )
    if not drafts:
        raise LaunchError(
            f"The catalog has no active recurring {launch.source_currency.upper()} prices to convert: "
            "choose another source currency"
        )
    kept = {r.source_price_id: r for r in launch.rows.exclude(override_amount=None)}
    launch.rows.all().delete()
    rows = []
    rates = fx.RateBook()
    siblings = book.sibling_prices_for({d.product_id for d in drafts}, exclude={launch.currency})
    for draft in drafts:
        row = LaunchRow(
            launch=launch,
            **{k: v for k, v in vars(draft).items() if k not in ("metadata",)},
        )
        previous = kept.get(draft.source_price_id)
        if previous is not None:
            row.override_amount, row.override_reason = previous.override_amount, previous.override_reason
            row.override_by, row.override_at = previous.override_by, previous.override_at
            row.flags = book.structural(row.flags) + book.check_amount(
                row.override_amount,
                target=launch.currency,
                minimum=minimum,
                siblings=siblings.get((row.product_id, row.interval, row.interval_count), []),
                book=rates,
                day=today,
                tolerance=launch.sibling_tolerance,
            )
        rows.append(row)
    LaunchRow.objects.bulk_create(rows, batch_size=500)
    launch.methods = {c: [m.type for m in local_methods_in(c, launch.currency)] for c in launch.countries}
    launch.fx_rate, launch.fx_as_of, launch.fx_source = rate, as_of, source[:500]
    launch.minimum_charge, launch.minimum_basis = minimum, basis
    launch.status, launch.previewed_by, launch.previewed_at = LaunchStatus.previewed, actor, timezone.now()
    launch.save()
    audit(
        actor,
        "currency_launch.preview",
        launch,
        rows=len(rows),
        flagged=sum(1 for r in rows if r.flags),
        fx_rate=str(rate),
        fx_as_of=as_of.isoformat(),
    )
    return launch


# --- review and the job ---------------------------------------------------------------------------
@transaction.atomic
def launch_approve(*, launch: Launch, actor) -> Launch:
    """A second finance admin approves the previewed book; it is frozen from then on."""
    launch = locked(launch)
    if launch.status != LaunchStatus.previewed:
        raise LaunchError(
            "Preview the launch before approving it"
            if launch.status == LaunchStatus.draft
            else f"This launch is already {launch.get_status_display().lower()}"
        )
    if launch.created_by_id == actor.pk:
        raise LaunchError("You drafted this launch: another finance admin must approve it (four eyes)")
    if launch.rows.filter(override_by=actor).exists():
        raise LaunchError("You changed prices in this book: another finance admin must approve it (four eyes)")
    age = (timezone.now().date() - launch.fx_as_of).days if launch.fx_as_of else None
    if age is None or age > settings.PORTAL_FX_MAX_AGE_DAYS:
        raise LaunchError(
            f"The book was priced with FX rates from {launch.fx_as_of:%Y-%m-%d}, older than "
            f"{settings.PORTAL_FX_MAX_AGE_DAYS} days: enter current rates and preview again"
        )
    problems = []
    for row in launch.rows.all():
        problems += [f"{row.lookup_key}: {describe_flag(f, launch)}" for f in row.flags if f["kind"] in book.BLOCKING]
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise LaunchError([*problems[:10], f"Fix these prices before approving{more}"])
    conflicts = _country_conflicts(launch.countries, launch.currency, launch)
    if conflicts:
        raise LaunchError(conflicts)
    launch.book_digest = book.digest(launch.rows.all())
    launch.status, launch.approved_by, launch.approved_at = LaunchStatus.approved, actor, timezone.now()
    launch.save()
    audit(actor, "currency_launch.approve", launch, rows=launch.rows.count(), digest=launch.book_digest)
    return launch


def describe_flag(flag: dict, launch: Launch) -> str:
    kind = flag["kind"]
    if kind == "below_minimum":
        return f"below Stripe's minimum charge of {format_money(flag['minimum'], launch.currency)}"
    if kind == "sibling":
        gap = Decimal(flag["gap"])
        return (
            f"{abs(gap)} % {'above' if gap > 0 else 'below'} the {flag['currency'].upper()} price "
            f"({format_money(flag['amount'], flag['currency'])}) at today's rates"
        )
    if kind == "lookup_key_taken":
        return f"the lookup key is held by the active price {flag['price']}: archive it or leave it out"
    if kind == "already_priced":
        return f"already has an active {launch.currency.upper()} price ({flag['price']})"
    return kind


@transaction.atomic
def launch_start(*, launch: Launch, actor) -> Launch:
    """Start the job that creates the Stripe prices. Refused unless approved (so: never twice)."""
    now = timezone.now()
    started = Launch.objects.filter(pk=launch.pk, status=LaunchStatus.approved).update(
        status=LaunchStatus.running, started_by=actor, started_at=now, heartbeat_at=now, last_error=""
    )
    launch.refresh_from_db()
    if not started:
        if launch.status == LaunchStatus.running:
            raise LaunchError(f"This launch is already running (started {launch.started_at:%Y-%m-%d %H:%M} UTC)")
        if launch.status in (LaunchStatus.draft, LaunchStatus.previewed):
            raise LaunchError("A launch starts once a second finance admin has approved it")
        raise LaunchError(f"This launch is {launch.get_status_display().lower()}: it cannot start again")
    if book.digest(launch.rows.all()) != launch.book_digest:
        raise LaunchError("The price book changed after approval: it has to be previewed and approved again")
    audit(actor, "currency_launch.start", launch, rows=launch.rows.count())
    transaction.on_commit(lambda: kick(launch.pk))
    return launch


@transaction.atomic
def launch_retry(*, launch: Launch, actor) -> Launch:
    """After a failure: try the prices that failed again (the others stay created)."""
    launch = locked(launch)
    if launch.status != LaunchStatus.failed:
        raise LaunchError("Only a failed launch can be tried again")
    failed = launch.rows.filter(state=RowState.failed)
    count = failed.count()
    for row in failed:
        row.state, row.error, row.retry_round = RowState.pending, "", row.retry_round + 1
        row.save(update_fields=["state", "error", "retry_round"])
    launch.status, launch.finished_at, launch.last_error = LaunchStatus.running, None, ""
    launch.heartbeat_at, launch.paused_until, launch.pause_count = timezone.now(), None, 0
    launch.save()
    audit(actor, "currency_launch.retry", launch, rows=count)
    transaction.on_commit(lambda: kick(launch.pk))
    return launch


@transaction.atomic
def launch_rollback(*, launch: Launch, actor, reason: str) -> Launch:
    """Undo a launch: the countries go back to what they were, self-serve stops offering its prices
    at once, and the job archives the prices it created. Refused while the job runs."""
    launch = locked(launch)
    if launch.status == LaunchStatus.running:
        raise LaunchError("The launch is running: wait until it is live or has failed, then roll it back")
    if launch.status in (LaunchStatus.rolling_back, LaunchStatus.rolled_back):
        raise LaunchError("This launch is already rolled back")
    reason = (reason or "").strip()
    if not reason:
        raise LaunchError("Say why the launch is rolled back")
    now = timezone.now()
    created = list(launch.rows.filter(state=RowState.created).values_list("stripe_price_id", flat=True))
    restored, kept = _restore_mapping(launch) if launch.status == LaunchStatus.live else ([], [])
    withdrawn = SelfServeOffer.objects.filter(price_id__in=created).delete()[0]
    launch.status = LaunchStatus.rolling_back if created else LaunchStatus.rolled_back
    launch.rolled_back_by, launch.rolled_back_at, launch.rollback_reason = actor, now, reason[:500]
    launch.rollback_finished_at = None if created else now
    launch.paused_until, launch.pause_count, launch.last_error, launch.heartbeat_at = None, 0, "", now
    launch.save()
    audit(
        actor,
        "currency_launch.rollback",
        launch,
        reason=reason,
        prices=len(created),
        offers_withdrawn=withdrawn,
        countries_restored=restored,
        countries_left=kept,
    )
    if created:
        transaction.on_commit(lambda: kick(launch.pk))
    return launch


def _restore_mapping(launch: Launch) -> tuple[list[str], list[str]]:
    restored, kept = [], []
    for country in launch.countries:
        current = CountryCurrency.objects.select_for_update().filter(country=country).first()
        if current is None or current.currency != launch.currency:
            kept.append(country)  # changed since by someone else: left as it is
            continue
        before = (launch.previous_mapping or {}).get(country)
        if before:
            current.currency, current.payment_methods = before["currency"], before["payment_methods"]
            current.updated_at = timezone.now()
            current.save()
        else:
            current.delete()
        restored.append(country)
    return restored, kept


def kick(launch_id: int) -> None:
    """Hand the launch to the workers: a few tasks that share its rows (CURRENCY_LAUNCH_WORKERS)."""
    todo = LaunchRow.objects.filter(
        launch_id=launch_id, state__in=[RowState.pending, RowState.created]
    ).count()  # an upper bound either way (creating: pending; rolling back: created)
    tasks = max(1, min(settings.CURRENCY_LAUNCH_WORKERS, math.ceil(todo / settings.CURRENCY_LAUNCH_CHUNK_SIZE)))
    for _ in range(tasks):
        queue.send(WORK_TASK, launch_id)
