"""The tax report: tax collected by jurisdiction, rate and month, from the mirror.

What counts: finalised invoices (open, paid, uncollectible: tax is owed when an invoice is issued,
void and draft ones never count) by the day they were finalised, and issued credit notes by the day
they were issued — a credit note, with or without a refund, takes its share of tax back. A refund
made without a credit note changes no tax (Stripe does not reverse tax for one either).

Exact: every figure in a document's own currency is a sum of Stripe's integer tax amounts, so the
report's total per currency equals the invoices' `total_taxes` minus the credit notes' to the minor
unit. The reporting-currency figure converts each document's tax at the FX rate of its own day
(`billing.currencies.fx.RateBook`) and sums those; a currency without a rate is counted as missing,
never guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from djstripe.models import Invoice, TaxRate

from billing.currencies.fx import RateBook
from billing.invoices.models import CreditNote
from billing.money import to_decimal
from billing.ui.csv import csv_lines
from taxes.models import PortalTaxRate

FINALISED = ("open", "paid", "uncollectible")


class ReportError(ValueError):
    pass


@dataclass
class Row:
    period: str  # YYYY-MM
    jurisdiction: str
    tax_type: str
    percentage: Decimal | None
    currency: str
    taxable: int = 0
    tax: int = 0
    credited: int = 0
    documents: int = 0
    reporting: int = 0  # net tax in the reporting currency
    missing_fx: bool = False

    @property
    def net(self) -> int:
        return self.tax - self.credited


@dataclass
class Report:
    start: dt.date
    end: dt.date
    quote: str
    rows: list[Row] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)  # currency -> net tax
    reporting_total: int = 0
    missing_fx: set[str] = field(default_factory=set)
    invoices: int = 0
    credit_notes: int = 0


def _ts(day: dt.date, *, end: bool = False) -> int:
    moment = dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time(), tzinfo=dt.UTC)
    return int(moment.timestamp())


def check_period(start: dt.date | None, end: dt.date | None) -> None:
    if start is None or end is None:
        raise ReportError("Choose the first and the last day of the period.")
    if end < start:
        raise ReportError(f"The period is upside down: {start:%Y-%m-%d} is after {end:%Y-%m-%d}.")
    if (end - start).days > 3 * 366:
        raise ReportError("Choose a period of at most three years.")


class RateNames:
    """tax rate id -> (jurisdiction, tax type, percentage), from the mirror and the portal's rates."""

    def __init__(self, ids: set[str]):
        self.known: dict[str, tuple[str, str, Decimal | None]] = {}
        for rate in PortalTaxRate.objects.filter(stripe_id__in=ids):
            self.known[rate.stripe_id] = (rate.jurisdiction, rate.tax_type, rate.percentage)
        for rate_id, data in TaxRate.objects.filter(id__in=ids - set(self.known)).values_list("id", "stripe_data"):
            data = data or {}
            code = data.get("jurisdiction") or data.get("country") or ""
            if data.get("state") and "-" not in code:
                code = f"{data.get('country')}-{data['state']}"
            pct = data.get("percentage")
            self.known[rate_id] = (
                code.upper(),
                data.get("tax_type") or "",
                Decimal(str(pct)) if pct is not None else None,
            )

    def of(self, rate_id: str) -> tuple[str, str, Decimal | None]:
        return self.known.get(rate_id) or (f"unknown ({rate_id})", "", None)


def _documents(start: dt.date, end: dt.date):
    since, until = _ts(start), _ts(end, end=True)
    finalized = Q(
        stripe_data__status_transitions__finalized_at__gte=since,
        stripe_data__status_transitions__finalized_at__lt=until,
    )
    # Without a finalisation time (older payloads), the invoice's creation day stands in for it.
    undated = (
        Q(stripe_data__status_transitions__finalized_at__isnull=True)
        | Q(stripe_data__status_transitions__finalized_at=None)
    ) & Q(created__gte=_dt(start), created__lt=_dt(end + dt.timedelta(days=1)))
    invoices = Invoice.objects.filter(Q(stripe_data__status__in=FINALISED) & (finalized | undated)).values_list(
        "id",
        "stripe_data__currency",
        "stripe_data__status_transitions__finalized_at",
        "created",
        "stripe_data__total_taxes",
    )
    for doc_id, currency, when, created, taxes in invoices.iterator(chunk_size=2000):
        if taxes:
            day = dt.datetime.fromtimestamp(int(when), dt.UTC).date() if when else created.astimezone(dt.UTC).date()
            yield "invoice", doc_id, currency, day, taxes, 1
    notes = CreditNote.objects.filter(
        status="issued", created__gte=_dt(start), created__lt=_dt(end + dt.timedelta(days=1))
    ).values_list("id", "currency", "created", "stripe_data__total_taxes")
    for doc_id, currency, created, taxes in notes.iterator(chunk_size=2000):
        if taxes:
            yield "credit_note", doc_id, currency, created.astimezone(dt.UTC).date(), taxes, -1


def _dt(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def tax_report(*, start: dt.date, end: dt.date, quote: str | None = None) -> Report:
    check_period(start, end)
    book = RateBook(quote)
    report = Report(start=start, end=end, quote=book.quote)
    documents = list(_documents(start, end))
    names = RateNames(
        {(t.get("tax_rate_details") or {}).get("tax_rate") or "" for *_, taxes, _ in documents for t in taxes or []}
    )
    rows: dict[tuple, Row] = {}
    for kind, _doc_id, currency, day, taxes, sign in documents:
        currency = (currency or "").lower()
        if kind == "invoice":
            report.invoices += 1
        else:
            report.credit_notes += 1
        for tax in taxes or []:
            amount = int(tax.get("amount") or 0)
            rate_id = (tax.get("tax_rate_details") or {}).get("tax_rate") or ""
            jurisdiction, tax_type, pct = names.of(rate_id)
            key = (f"{day:%Y-%m}", jurisdiction, tax_type, pct, currency)
            row = rows.get(key)
            if row is None:
                row = rows[key] = Row(*key)
            row.documents += 1
            if sign > 0:
                row.tax += amount
                row.taxable += int(tax.get("taxable_amount") or 0)
            else:
                row.credited += amount
                row.taxable -= int(tax.get("taxable_amount") or 0)
            converted = book.convert(amount, currency, day)
            if converted is None:
                row.missing_fx = True
                report.missing_fx.add(currency)
            else:
                row.reporting += sign * converted
    report.rows = sorted(rows.values(), key=lambda r: (r.period, r.jurisdiction, r.currency, r.percentage or 0))
    for row in report.rows:
        report.totals[row.currency] = report.totals.get(row.currency, 0) + row.net
        report.reporting_total += row.reporting
    return report


def by_jurisdiction(report: Report) -> list[dict]:
    """The report's rows summed over the period, per jurisdiction and currency."""
    out: dict[tuple, dict] = {}
    for row in report.rows:
        entry = out.setdefault(
            (row.jurisdiction, row.currency),
            {"jurisdiction": row.jurisdiction, "currency": row.currency, "net": 0, "reporting": 0, "taxable": 0},
        )
        entry["net"] += row.net
        entry["reporting"] += row.reporting
        entry["taxable"] += row.taxable
    return sorted(out.values(), key=lambda e: -e["reporting"])


def report_csv(report: Report) -> bytes:
    """The report as CSV, through the lists' writer (a jurisdiction's name is never run as a formula)."""
    quote = report.quote.upper()
    header = ["period", "jurisdiction", "tax_type", "rate_percent", "currency", "taxable", "tax", "credited",
              "net_tax", f"net_tax_{quote}", "documents", "fx_missing"]  # fmt: skip
    rows = [
        [
            row.period,
            row.jurisdiction,
            row.tax_type,
            row.percentage.normalize() if row.percentage is not None else "",
            row.currency.upper(),
            to_decimal(row.taxable, row.currency),
            to_decimal(row.tax, row.currency),
            to_decimal(row.credited, row.currency),
            to_decimal(row.net, row.currency),
            to_decimal(row.reporting, report.quote),
            row.documents,
            "yes" if row.missing_fx else "",
        ]
        for row in report.rows
    ]
    for currency, total in sorted(report.totals.items()):
        rows.append(["total", "", "", "", currency.upper(), "", "", "", to_decimal(total, currency), "", "", ""])
    rows.append(["total", "", "", "", quote, "", "", "", "", to_decimal(report.reporting_total, report.quote), "", ""])
    return "".join(csv_lines(header, rows, bom=False)).encode()
