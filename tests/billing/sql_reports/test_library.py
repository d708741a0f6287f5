"""Each shipped report on demo-like data: its totals equal the same figures computed with the ORM."""

import datetime as dt
from collections import Counter, defaultdict

import pytest
from django.utils import timezone
from djstripe.models import Invoice

from accounts.models import AuditLog
from billing.dunning.models import Case
from billing.reports.models import MrrMovement, PaymentFact
from billing.sql_reports.library import REPORTS
from billing.sql_reports.models import LibraryReport
from billing.usage.models import SeatCredit, UsageDay
from tests.billing.sql_reports import world

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "reports"])]


@pytest.fixture
def finance(reports_db, people):
    return world.build(people)


def rows(slug, **params):
    query = LibraryReport.objects.get(slug=slug).query
    query.params = params
    result = query.execute_query_only()
    headers = [str(h) for h in result.headers]
    return [dict(zip(headers, row, strict=True)) for row in result.data]


def paid_invoices(months=12):
    since = timezone.now() - dt.timedelta(days=30.44 * months)
    return [i for i in Invoice.objects.filter(created__gte=since) if i.stripe_data["status"] == "paid"]


def test_the_library_has_eight_described_reports(reports_db):
    entries = LibraryReport.objects.select_related("query")
    assert entries.count() == len(REPORTS) == 8
    assert all(e.query.description and e.query.title.startswith("Finance - ") for e in entries)


def test_revenue_by_country_currency_plan(finance):
    got = {
        (r["country"], r["currency"], r["plan"]): r["revenue_minor"] for r in rows("revenue-by-country-currency-plan")
    }
    expected = Counter()
    countries = {o.stripe_customer_id: str(o.country) for o in finance["orgs"].values()}
    for invoice in paid_invoices():
        expected[(countries[invoice.stripe_data["customer"]], invoice.stripe_data["currency"], "Pro")] += (
            invoice.stripe_data["amount_paid"]
        )
    assert got == dict(expected)
    assert got[("DE", "eur", "Pro")] == 8000 * 12 - 8000  # 11 paid invoices of the last 12 months


def test_mrr_movements_by_month(finance):
    got = rows("mrr-movements-by-month")
    assert sum(r["net_minor"] for r in got) == sum(m.amount for m in MrrMovement.objects.all()) == 6450
    assert sum(r["churn_minor"] for r in got) == -3150


def test_invoices_past_due_by_age(finance):
    got = rows("invoices-past-due-by-age")
    now = timezone.now().timestamp()
    expected = Counter()
    for invoice in Invoice.objects.all():
        data = invoice.stripe_data
        if data["status"] == "open" and now - (data["due_date"] or data["created"]) > 0:
            expected[data["currency"]] += data["amount_remaining"]
    assert {r["currency"]: 0 for r in got} == dict.fromkeys(expected, 0)
    for currency, total in expected.items():
        assert sum(r["remaining_minor"] for r in got if r["currency"] == currency) == total
    assert any(r["age"] == "31-60 days" for r in got)  # the invoice 45 days past its due date


def test_tax_by_jurisdiction(finance):
    got = {(r["jurisdiction"], r["currency"]): r["tax_minor"] for r in rows("tax-by-jurisdiction")}
    expected = Counter()
    jurisdiction = {"txr_de": "DE", "txr_ca": "US - CA"}
    for invoice in Invoice.objects.all():
        if invoice.stripe_data["status"] == "paid":
            for tax in invoice.stripe_data.get("total_taxes") or []:
                rate = tax["tax_rate_details"]["tax_rate"]
                expected[(jurisdiction[rate], invoice.stripe_data["currency"])] += tax["amount"]
    assert got == dict(expected) and got[("DE", "eur")] == 1520 * 12


def test_dunning_recovery_by_method(finance):
    got = {r["method"]: r for r in rows("dunning-recovery-by-method")}
    for method in ("card", "sepa_debit"):
        cases = Case.objects.filter(method_type=method)
        assert got[method]["cases"] == cases.count()
        assert got[method]["recovered"] == cases.filter(status="recovered").count()
        assert got[method]["recovered_minor"] == sum(c.recovered_amount for c in cases)
    assert float(got["card"]["recovery_rate_pct"]) == pytest.approx(33.3)


def test_payment_acceptance_by_country_method(finance):
    got = {
        (r["country"], r["method"]): (r["attempts"], r["accepted"])
        for r in rows("payment-acceptance-by-country-method")
    }
    expected = defaultdict(lambda: [0, 0])
    for fact in PaymentFact.objects.all():
        expected[(fact.country, fact.method_type)][0] += 1
        expected[(fact.country, fact.method_type)][1] += fact.kind == "succeeded"
    assert got == {k: tuple(v) for k, v in expected.items()}


def test_top_customers_by_usage(finance, people):
    got = rows("top-customers-by-usage", days="14", limit="1")
    since = timezone.now().date() - dt.timedelta(days=14)
    acme = sum(d.total for d in UsageDay.objects.filter(organisation=people.acme, day__gte=since))
    assert got == [{"organisation": "Acme", "meter": "API calls", "total": acme, "events": 150, "busiest_day": 1014}]


def test_inactive_seats_billed(finance, people):
    got = rows("inactive-seats-billed")
    credits = [c for c in SeatCredit.objects.select_related("period") if c.status != "cancelled"]
    sign = {"credit": 1, "reactivation": -1}
    credited = sum(sign[c.kind] * c.amount for c in credits if c.status == "sent")
    owed = sum(sign[c.kind] * c.amount for c in credits if c.status in ("pending", "failed"))
    days = sum(sign[c.kind] * c.unused_seconds for c in credits) // 86400
    members = len({c.member_email for c in credits})
    assert got == [
        {
            "organisation": "Acme",
            "country": "DE",
            "currency": "eur",
            "inactive_members": members,
            "unused_seat_days": days,
            "credited_minor": credited,
            "still_owed_minor": owed,
        }
    ]
    assert (members, days, credited, owed) == (2, 22, 400, 186)


def test_every_library_run_is_audited(finance):
    before = AuditLog.objects.filter(action="sql_report.run").count()
    for report in REPORTS:
        rows(report["slug"])
    assert AuditLog.objects.filter(action="sql_report.run").count() == before + 8
