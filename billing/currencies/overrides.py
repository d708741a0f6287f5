"""Overrides of a previewed price book: one row at a time from the launch page, or many from CSV
(the book's own export, edited). Each is checked like the rule's prices — Stripe's minimum and
amount steps — with a reason; nothing is half-imported."""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit
from billing.currencies import book, fx
from billing.currencies.launches import LaunchError, locked
from billing.currencies.limits import amount_step
from billing.currencies.models import Launch, LaunchRow, LaunchStatus
from billing.money import exponent, format_money, to_minor

MAX_IMPORT_ROWS = 10_000


def _amount_flags(
    launch: Launch, row: LaunchRow, amount: int, *, siblings: dict | None = None, rates: fx.RateBook | None = None
) -> list[dict]:
    if siblings is None:
        siblings = book.sibling_prices_for({row.product_id}, exclude={launch.currency})
    return book.structural(row.flags) + book.check_amount(
        amount,
        target=launch.currency,
        minimum=launch.minimum_charge,
        siblings=siblings.get((row.product_id, row.interval, row.interval_count), []),
        book=rates or fx.RateBook(),
        day=timezone.now().date(),
        tolerance=launch.sibling_tolerance,
    )


def _parse_override(launch: Launch, text: str, reason: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        amount = to_minor(text.replace(",", ""), launch.currency)
    except (ValueError, InvalidOperation):
        raise ValueError(
            f"{text!r} is not an amount in {launch.currency.upper()} (major units, e.g. "
            f"{format_money(1234, launch.currency)} is typed as {Decimal(1234).scaleb(-exponent(launch.currency))})"
        ) from None
    if amount <= 0:
        raise ValueError("a price is above 0")
    step = amount_step(launch.currency)
    if amount % step:
        raise ValueError(f"Stripe takes {launch.currency.upper()} amounts in steps of {step} minor units")
    if launch.minimum_charge is not None and amount < launch.minimum_charge:
        raise ValueError(
            f"{format_money(amount, launch.currency)} is below Stripe's minimum charge of "
            f"{format_money(launch.minimum_charge, launch.currency)}"
        )
    if not (reason or "").strip():
        raise ValueError("say why the price differs from the rule")
    return amount


@transaction.atomic
def launch_override(*, launch: Launch, row_id: int, amount: str, reason: str, actor) -> LaunchRow:
    """Set (or, with an empty amount, clear) one row's price, with a reason."""
    launch = locked(launch)
    if launch.status != LaunchStatus.previewed:
        raise LaunchError(
            "Preview the launch first"
            if launch.status == LaunchStatus.draft
            else f"This launch is {launch.get_status_display().lower()}: its price book is frozen"
        )
    row = launch.rows.filter(pk=row_id).first()
    if row is None:
        raise LaunchError("That price is not in this launch's book")
    try:
        value = _parse_override(launch, amount, reason)
    except ValueError as error:
        raise LaunchError(f"{row.lookup_key}: {error}") from None
    before = row.override_amount
    row.override_amount = value
    row.override_reason = (reason or "").strip()[:300] if value is not None else ""
    row.override_by, row.override_at = (actor, timezone.now()) if value is not None else (None, None)
    row.flags = _amount_flags(launch, row, row.amount)
    row.save()
    audit(
        actor,
        "currency_launch.override",
        launch,
        row=row.lookup_key,
        before=before,
        after=value,
        reason=row.override_reason,
    )
    return row


@transaction.atomic
def launch_import_overrides(*, launch: Launch, data: bytes, actor) -> int:
    """Overrides from CSV (`lookup_key,override,reason`, as the export writes them): every line is
    checked first; nothing changes unless all are good, and each bad line is named."""
    launch = locked(launch)
    if launch.status != LaunchStatus.previewed:
        raise LaunchError("Overrides can be imported into a previewed launch only")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LaunchError("the file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
    if not {"lookup_key", "override"} <= fields:
        raise LaunchError("the first line must name the columns lookup_key, override and reason")
    rows = {r.lookup_key: r for r in launch.rows.all()}
    changes, errors, seen = [], [], set()
    for number, line in enumerate(reader, start=2):
        if number > MAX_IMPORT_ROWS + 1:
            errors.append(f"more than {MAX_IMPORT_ROWS} lines: split the file")
            break
        line = {(k or "").strip().lower(): (v or "").strip() for k, v in line.items() if k}
        key = line.get("lookup_key", "")
        row = rows.get(key)
        if row is None:
            errors.append(f"line {number}: {key or '(empty)'} is not a lookup key of this book")
            continue
        if key in seen:
            errors.append(f"line {number}: {key} appears twice")
            continue
        seen.add(key)
        reason = line.get("reason", "")
        try:
            changes.append((row, _parse_override(launch, line.get("override", ""), reason), reason))
        except ValueError as error:
            errors.append(f"line {number} ({key}): {error}")
    if errors:
        raise LaunchError(errors)
    if not changes:
        raise LaunchError("the file has no lines")
    now = timezone.now()
    changed = []
    siblings = book.sibling_prices_for({row.product_id for row, _, _ in changes}, exclude={launch.currency})
    rates = fx.RateBook()
    for row, value, reason in changes:
        reason = reason[:300] if value is not None else ""
        if (value, reason) == (row.override_amount, row.override_reason):
            continue
        row.override_amount, row.override_reason = value, reason
        row.override_by, row.override_at = (actor, now) if value is not None else (None, None)
        row.flags = _amount_flags(launch, row, row.amount, siblings=siblings, rates=rates)
        changed.append(row)
    columns = ["override_amount", "override_reason", "override_by", "override_at", "flags"]
    LaunchRow.objects.bulk_update(changed, columns)
    audit(actor, "currency_launch.import_overrides", launch, lines=len(changes), changed=len(changed))
    return len(changed)
