"""Writes of the currencies app: FX rates entered or imported by finance (audited)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_name
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit
from billing.currencies.models import FxRate

MAX_IMPORT_ROWS = 5_000


class FxError(ValueError):
    """Input the FX table refuses; `errors` names each bad row."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def clean_currency(code: str) -> str:
    code = (code or "").strip().lower()
    if len(code) != 3 or not code.isalpha() or get_currency_name(code.upper(), locale="en") == code.upper():
        raise ValueError(f"{code.upper() or '(empty)'} is not an ISO 4217 currency code")
    return code


def clean_rate(value) -> Decimal:
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{value!r} is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError("a rate must be greater than 0")
    if rate.as_tuple().exponent < -12 or rate >= Decimal(10) ** 12:
        raise ValueError("a rate has at most 12 decimals and fewer than 12 digits before the point")
    return rate


@transaction.atomic
def fx_rate_set(*, currency: str, quote: str, rate, day: dt.date, source: str, actor=None) -> FxRate:
    """Set the rate of `currency` in `quote` for `day` (replacing that day's rate, audited)."""
    currency, quote, rate = clean_currency(currency), clean_currency(quote), clean_rate(rate)
    if currency == quote:
        raise ValueError("a currency's rate to itself is 1")
    if not source.strip():
        raise ValueError("say where the rate comes from")
    if day > timezone.now().date() + dt.timedelta(days=1):
        raise ValueError("a rate cannot be dated in the future")
    before = FxRate.objects.filter(currency=currency, quote=quote, day=day).first()
    fx, _ = FxRate.objects.update_or_create(
        currency=currency,
        quote=quote,
        day=day,
        defaults={"rate": rate, "source": source.strip()[:200], "created_by": actor},
    )
    audit(
        actor,
        "fx.set",
        fx,
        currency=currency,
        quote=quote,
        day=day.isoformat(),
        rate=str(rate),
        before=str(before.rate) if before else None,
        source=fx.source,
    )
    return fx


@transaction.atomic
def fx_import_csv(*, data: bytes, quote: str, actor=None) -> int:
    """Import `currency,rate,day,source` rows; every row is checked first and nothing is imported
    unless all are good (each bad row is named)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FxError(["the file is not UTF-8 text"]) from None
    reader = csv.DictReader(io.StringIO(text))
    expected = {"currency", "rate", "day", "source"}
    if not reader.fieldnames or not expected <= {f.strip().lower() for f in reader.fieldnames}:
        raise FxError(["the first line must name the columns: currency, rate, day, source"])
    rows, errors = [], []
    for number, row in enumerate(reader, start=2):
        if number > MAX_IMPORT_ROWS + 1:
            errors.append(f"more than {MAX_IMPORT_ROWS} rows: split the file")
            break
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        try:
            day = dt.date.fromisoformat(row["day"])
            rows.append((clean_currency(row["currency"]), clean_rate(row["rate"]), day, row["source"]))
            if not row["source"]:
                raise ValueError("source is empty")
        except (ValueError, KeyError) as error:
            errors.append(f"line {number}: {error}")
    if errors:
        raise FxError(errors)
    if not rows:
        raise FxError(["the file has no rows"])
    for currency, rate, day, source in rows:
        fx_rate_set(currency=currency, quote=quote, rate=rate, day=day, source=source, actor=actor)
    audit(actor, "fx.import", object_type="billing_currencies.fxrate", object_id="csv", rows=len(rows), quote=quote)
    return len(rows)
