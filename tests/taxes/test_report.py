"""The tax report reconciles: per currency, its total equals the invoices' taxes minus the credit
notes' to the minor unit; the reporting-currency total is each document converted at its own day's
rate; void, draft and out-of-period documents never count. And the threshold monitor."""

import datetime as dt
import random
from decimal import Decimal

import pytest

from billing.currencies.models import FxRate
from billing.invoices.models import CreditNote
from billing.money import round_minor, to_decimal
from billing.stripe import mirror
from taxes.models import PortalTaxRate, Registration, TaxSettings
from taxes.report import ReportError, report_csv, tax_report
from taxes.thresholds import threshold_watch
from taxes.treatment import tax_amount
from tests import stripe_payloads as sp
from tests.pages import mirror_customer

pytestmark = pytest.mark.django_db
START, END = dt.date(2026, 10, 1), dt.date(2026, 11, 30)
RATES = {"DE": ("eur", "19"), "FR": ("eur", "20"), "JP": ("jpy", "10"), "US-CA": ("usd", "7.25"), "CH": ("kwd", "8.1")}
FX = {"eur": ("1.08", "1.10"), "jpy": ("0.0066", "0.0065"), "kwd": ("3.25", "3.26")}  # Oct 1, Nov 1


def ts(day: dt.date, hour: int = 12) -> int:
    return int(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC).timestamp())


def fx_on(currency: str, day: dt.date) -> Decimal:
    return Decimal(1) if currency == "usd" else Decimal(FX[currency][0 if day < dt.date(2026, 11, 1) else 1])


def mirror_invoice(n: int, *, customer: str, jurisdiction: str, day: dt.date, status: str, lines: list[int]):
    currency, pct = RATES[jurisdiction]
    rate = PortalTaxRate.objects.get(jurisdiction=jurisdiction)
    taxes = [tax_amount(amount, Decimal(pct), currency) for amount in lines]
    payload = sp.invoice(
        f"in_tax_{n}", customer_id=customer, subscription_id=None, status=status, currency=currency,
        amount_due=sum(lines) + sum(taxes), created=ts(day) - 3600,
    )  # fmt: skip
    payload["status_transitions"] = {"finalized_at": ts(day) if status != "draft" else None}
    payload["total_taxes"] = [
        {"amount": sum(taxes), "taxable_amount": sum(lines), "tax_behavior": "exclusive",
         "tax_rate_details": {"tax_rate": rate.stripe_id}, "taxability_reason": "standard_rated",
         "type": "tax_rate_details"}
    ]  # fmt: skip
    payload["total_excluding_tax"] = sum(lines)
    payload["customer_address"] = {"country": jurisdiction[:2], "state": jurisdiction[3:] or None}
    mirror.apply_object(payload)
    return payload


@pytest.fixture
def books(db):
    for n, (code, (_currency, pct)) in enumerate(RATES.items()):
        PortalTaxRate.objects.create(
            jurisdiction=code, country=code[:2], state=code[3:], display_name="Tax", tax_type="vat",
            percentage=Decimal(pct), stripe_id=f"txr_{n}",
        )  # fmt: skip
    for currency, (october, november) in FX.items():
        FxRate.objects.create(
            currency=currency, quote="usd", rate=Decimal(october), day=dt.date(2026, 10, 1), source="t"
        )
        FxRate.objects.create(
            currency=currency, quote="usd", rate=Decimal(november), day=dt.date(2026, 11, 1), source="t"
        )
    mirror_customer("cus_tax", subscriptions=0, invoices=0)


def test_report_totals_equal_the_invoices_taxes_to_the_minor_unit(books):
    rng = random.Random(15)
    counted, expected, expected_usd = [], {}, 0
    for n in range(60):
        code = rng.choice(list(RATES))
        day = START + dt.timedelta(days=rng.randrange(0, 61))
        status = rng.choice(["paid", "paid", "open", "uncollectible", "void", "draft"])
        lines = [rng.randrange(1, 500_000) for _ in range(rng.randrange(1, 4))]
        payload = mirror_invoice(n, customer="cus_tax", jurisdiction=code, day=day, status=status, lines=lines)
        if status in ("paid", "open", "uncollectible"):
            counted.append((payload, day))
    # Outside the period: never counted.
    mirror_invoice(900, customer="cus_tax", jurisdiction="DE", day=dt.date(2026, 9, 30), status="paid", lines=[999])
    for payload, day in counted:
        currency, tax = payload["currency"], payload["total_taxes"][0]["amount"]
        expected[currency] = expected.get(currency, 0) + tax
        expected_usd += round_minor(to_decimal(tax, currency) * fx_on(currency, day), "usd")
    # Credit notes (with a refund or not) take their share of tax back, on their own day.
    for m, (payload, day) in enumerate(counted[:12]):
        currency = payload["currency"]
        tax = payload["total_taxes"][0]["amount"] // 3
        note_day = min(day + dt.timedelta(days=3), END)
        CreditNote.objects.create(
            id=f"cn_{m}", invoice_id=payload["id"], customer_id="cus_tax", status="issued", kind="post_payment",
            total=tax * 6, currency=currency, created=dt.datetime.combine(note_day, dt.time(9), tzinfo=dt.UTC),
            stripe_data={"total_taxes": [{**payload["total_taxes"][0], "amount": tax}]},
        )  # fmt: skip
        expected[currency] -= tax
        expected_usd -= round_minor(to_decimal(tax, currency) * fx_on(currency, note_day), "usd")
    CreditNote.objects.create(
        id="cn_void", invoice_id=counted[0][0]["id"], customer_id="cus_tax", status="void", kind="pre_payment",
        total=100, currency=counted[0][0]["currency"], created=dt.datetime(2026, 10, 5, tzinfo=dt.UTC),
        stripe_data={"total_taxes": [{**counted[0][0]["total_taxes"][0], "amount": 50}]},
    )  # fmt: skip

    report = tax_report(start=START, end=END, quote="usd")
    assert report.totals == expected
    assert report.reporting_total == expected_usd
    assert sum(r.reporting for r in report.rows) == expected_usd
    assert report.invoices == len(counted) and report.credit_notes == 12
    assert {r.jurisdiction for r in report.rows} <= set(RATES)
    assert {r.percentage for r in report.rows if r.jurisdiction == "US-CA"} <= {Decimal("7.25")}
    text = report_csv(report).decode()
    assert text.splitlines()[0].startswith("period,jurisdiction,tax_type,rate_percent")
    assert f"total,,,,USD,,,,,{to_decimal(expected_usd, 'usd')}" in text
    for currency, total in expected.items():
        assert f"total,,,,{currency.upper()},,,,{to_decimal(total, currency)}" in text


def test_a_currency_without_fx_is_missing_not_guessed(books):
    FxRate.objects.filter(currency="kwd").delete()
    mirror_invoice(1, customer="cus_tax", jurisdiction="CH", day=dt.date(2026, 10, 10), status="paid", lines=[2700])
    report = tax_report(start=START, end=END, quote="usd")
    assert report.totals == {"kwd": 219} and report.missing_fx == {"kwd"} and report.reporting_total == 0


def test_upside_down_period_is_refused():
    with pytest.raises(ReportError, match="upside down"):
        tax_report(start=END, end=START)


def test_thresholds_warn_as_sales_approach(books):
    TaxSettings.objects.create(pk=1, home_country="US", home_state="CA")
    Registration.objects.create(country="US", state="CA", tax_type="sales_tax", effective_from=dt.date(2020, 1, 1))
    today = dt.date(2026, 11, 20)
    # Sales into Texas ($500,000 threshold): $420,000 -> 84 %, a warning; California is registered.
    for n in range(4):
        mirror_invoice(100 + n, customer="cus_tax", jurisdiction="US-CA", day=today, status="paid", lines=[10_500_000])
    payload = sp.invoice("in_tx", customer_id="cus_tax", subscription_id=None, status="paid", amount_due=42_000_000)
    payload.update(
        status_transitions={"finalized_at": ts(today)},
        total_taxes=[],
        total_excluding_tax=42_000_000,
        customer_address={"country": "US", "state": "TX"},
    )
    mirror.apply_object(payload)
    watches = {w.threshold.jurisdiction: w for w in threshold_watch(today=today, quote="usd")}
    assert "US-CA" not in watches
    assert (watches["US-TX"].percent, watches["US-TX"].level) == (84, "warning")
