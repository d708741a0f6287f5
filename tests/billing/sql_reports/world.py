"""A demo-like finance world for the report library, written straight into the mirror and our tables."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from djstripe.models import Customer, Invoice, Product, Subscription, TaxRate

from accounts.models import Membership, Organisation
from billing.dunning.models import Case, Policy
from billing.reports.models import MrrMovement, PaymentFact
from billing.usage.models import Meter, SeatActivity, SeatCredit, UsageDay, UsagePeriod
from tests import stripe_payloads as sp

DAY = 86400


def _at(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def build(people) -> dict:
    now = int(timezone.now().timestamp())
    Product.objects.create(
        id="prod_pro", livemode=False, created=_at(now), stripe_data=sp.product("prod_pro", name="Pro")
    )
    TaxRate.objects.create(
        id="txr_de",
        livemode=False,
        created=_at(now),
        stripe_data={"id": "txr_de", "object": "tax_rate", "country": "DE", "jurisdiction": "DE", "percentage": 19.0},
    )
    TaxRate.objects.create(
        id="txr_ca",
        livemode=False,
        created=_at(now),
        stripe_data={
            "id": "txr_ca",
            "object": "tax_rate",
            "country": "US",
            "jurisdiction": "US - CA",
            "percentage": 7.25,
        },
    )
    orgs = {"cus_acme": people.acme, "cus_globex": people.globex}
    cus_jp = Organisation.objects.create(name="Nihon", slug="nihon", country="JP", stripe_customer_id="cus_jp")
    orgs["cus_jp"] = cus_jp
    for cid, org in orgs.items():
        Customer.objects.create(
            id=cid,
            livemode=False,
            created=_at(now - 400 * DAY),
            stripe_data=sp.customer(cid, country=str(org.country), name=org.name),
        )
    plans = {
        "cus_acme": ("eur", 800, 10, "active"),
        "cus_globex": ("usd", 1500, 5, "active"),
        "cus_jp": ("jpy", 1050, 3, "canceled"),
    }
    for cid, (currency, unit, seats, status) in plans.items():
        price = sp.price(f"price_{currency}", product_id="prod_pro", currency=currency, unit_amount=unit)
        Subscription.objects.create(
            id=f"sub_{cid}",
            livemode=False,
            created=_at(now - 300 * DAY),
            customer_id=cid,
            stripe_data=sp.subscription(f"sub_{cid}", customer_id=cid, the_price=price, quantity=seats, status=status),
        )
    n = 0
    for cid, (currency, unit, seats, _) in plans.items():
        for month in range(14):  # 14 monthly invoices: the first two are outside the 12-month window
            n += 1
            created = now - (13 - month) * 30 * DAY - DAY
            status = "paid" if month < 12 else "open"
            data = sp.invoice(
                f"in_{n:04d}",
                customer_id=cid,
                subscription_id=f"sub_{cid}",
                status=status,
                amount_due=unit * seats,
                currency=currency,
                created=created,
            )
            if cid == "cus_acme":
                tax = unit * seats * 19 // 100
                data["total_taxes"] = [
                    {
                        "amount": tax,
                        "taxable_amount": unit * seats,
                        "tax_behavior": "exclusive",
                        "type": "tax_rate_details",
                        "tax_rate_details": {"tax_rate": "txr_de"},
                    }
                ]
            if cid == "cus_globex" and month % 2:
                data["total_taxes"] = [
                    {
                        "amount": 109,
                        "taxable_amount": 1500,
                        "tax_behavior": "exclusive",
                        "type": "tax_rate_details",
                        "tax_rate_details": {"tax_rate": "txr_ca"},
                    }
                ]
            if status == "open" and month == 12:
                data["due_date"] = now - 45 * DAY  # 45 days past due
            Invoice.objects.create(
                id=data["id"],
                livemode=False,
                created=_at(created),
                customer_id=cid,
                stripe_data=data,
            )
    for i, (kind, amount, days) in enumerate([("new", 8000, 200), ("expansion", 1600, 100), ("churn", -3150, 20)]):
        MrrMovement.objects.create(
            subscription_id=f"sub_{i}",
            customer_id="cus_acme",
            currency="eur",
            kind=kind,
            amount=amount,
            mrr_after=0,
            effective_at=_at(now - days * DAY),
        )
    for i, (kind, country, method) in enumerate(
        [
            ("succeeded", "DE", "card"),
            ("succeeded", "DE", "card"),
            ("failed", "DE", "card"),
            ("succeeded", "DE", "sepa_debit"),
            ("failed", "US", "card"),
            ("succeeded", "US", "us_bank_account"),
        ]
    ):
        PaymentFact.objects.create(
            source_id=f"ch_{i}",
            kind=kind,
            amount=1000,
            currency="eur",
            country=country,
            method_type=method,
            occurred_at=_at(now - i * DAY),
        )
    policy = Policy.objects.create(name="Default", priority=1000)
    for i, (method, status, recovered) in enumerate(
        [
            ("card", "recovered", 8000),
            ("card", "exhausted", 0),
            ("card", "in_progress", 0),
            ("sepa_debit", "recovered", 4000),
        ]
    ):
        Case.objects.create(
            invoice_id=f"in_d{i}",
            customer_id="cus_acme",
            policy=policy,
            status=status,
            currency="eur",
            amount_due=8000,
            method_type=method,
            recovered_amount=recovered,
            opened_at=_at(now),
        )
    api = Meter.objects.create(key="api-calls", name="API calls", aggregation="sum")
    today = timezone.now().date()
    for org, per_day in ((people.acme, 1000), (people.globex, 300)):
        for back in range(20):  # the last 20 days; the report looks at 14
            UsageDay.objects.create(
                organisation=org, meter=api, day=today - dt.timedelta(days=back), total=per_day + back, events=10
            )
    member = Membership.objects.get(organisation=people.acme, user=people.member)
    SeatActivity.objects.create(
        organisation=people.acme,
        membership=member,
        day=today - dt.timedelta(days=2),
        first_seen=timezone.now(),
        last_seen=timezone.now(),
    )
    seats = Meter.objects.create(key="seats", name="Active seats", aggregation="active_seats")
    period = UsagePeriod.objects.create(
        organisation=people.acme,
        meter=seats,
        customer_id="cus_acme",
        subscription_id="sub_cus_acme",
        subscription_item_id="si_seats",
        currency="eur",
        start=timezone.now() - dt.timedelta(days=30),
        end=timezone.now(),
    )
    for email, kind, status, amount, days in [
        ("ann@acme.example", "credit", "sent", 400, 15),
        ("bob@acme.example", "credit", "pending", 266, 10),
        ("bob@acme.example", "reactivation", "pending", 80, 3),
        ("cat@acme.example", "credit", "cancelled", 500, 20),
    ]:
        SeatCredit.objects.create(
            period=period,
            kind=kind,
            member_email=email,
            last_active_at=timezone.now(),
            inactive_from=timezone.now(),
            unused_seconds=days * DAY,
            period_seconds=30 * DAY,
            amount=amount,
            currency="eur",
            reason="inactive",
            status=status,
        )
    return {"orgs": orgs}
