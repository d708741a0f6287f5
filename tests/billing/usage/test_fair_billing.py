"""Fair billing: a member inactive from day 10 of 30 is credited 21/30 of the seat, to the minor unit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from billing.stripe.gateway import gateway
from billing.usage import fairbilling, ingest, reporting
from billing.usage.models import SeatCredit, UsagePeriod
from tests.billing.usage.stripe_setup import billed_by_usage, stripe_meters

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def _activity(org, email, moments, prefix):
    events = [
        {"id": f"{prefix}-{n}", "meter": "active_seats", "member": email, "timestamp": int(when.timestamp())}
        for n, when in enumerate(moments)
    ]
    outcome = ingest.ingest(org, events)
    assert not outcome.errors, outcome.errors


@pytest.mark.parametrize(("currency", "unit_amount", "credit"), [("usd", 875, 613), ("jpy", 1050, 735)])
def test_a_member_inactive_from_day_10_of_30_is_credited_21_30_of_the_seat(
    meters, people, currency, unit_amount, credit
):
    meters.seats.inactive_after_days = 7
    meters.seats.save()
    now = timezone.now().replace(microsecond=0)
    start = now - 12 * DAY
    period = UsagePeriod.objects.create(
        organisation=people.acme, meter=meters.seats, customer_id="cus_acme", subscription_id="sub_1",
        subscription_item_id="si_1", currency=currency, unit_amount=unit_amount, start=start, end=start + 30 * DAY,
    )  # fmt: skip
    # The member works days 1 to 3 (last seen at the start of day 3), then never again: inactive from day 10.
    _activity(people.acme, "member@example.com", [start, start + DAY, start + 2 * DAY], "m")
    _activity(people.acme, "owner@example.com", [start + n * DAY for n in range(12)], "o")
    made = fairbilling.credits_compute(period, now=now)
    assert [(c.member_email, c.kind, c.amount, c.currency) for c in made] == [
        ("member@example.com", "credit", credit, currency)
    ]
    assert made[0].inactive_from == start + 9 * DAY
    assert (made[0].unused_seconds, made[0].period_seconds) == (21 * 86400, 30 * 86400)
    assert "Inactive from" in made[0].reason
    assert fairbilling.credits_compute(period, now=now) == []  # once


def test_no_credit_before_the_member_is_inactive_and_a_charge_when_they_return(meters, people):
    meters.seats.inactive_after_days = 7
    meters.seats.save()
    now = timezone.now().replace(microsecond=0)
    start = now - 20 * DAY
    period = UsagePeriod.objects.create(
        organisation=people.acme, meter=meters.seats, customer_id="cus_acme", subscription_id="sub_1",
        subscription_item_id="si_1", currency="usd", unit_amount=900, start=start, end=start + 30 * DAY,
    )  # fmt: skip
    _activity(people.acme, "member@example.com", [start, start + 2 * DAY], "a")
    assert fairbilling.credits_compute(period, now=start + 8 * DAY) == []  # still within the 7 days
    _activity(people.acme, "member@example.com", [start + 15 * DAY], "b")  # back on day 16
    made = fairbilling.credits_compute(period, now=now)
    assert [(c.kind, c.amount) for c in made] == [("credit", 630), ("reactivation", 450)]  # 21/30, 15/30


def test_the_credit_reaches_stripe_and_lowers_the_renewal_invoice(sandbox, people):
    meters = stripe_meters(people.admin)
    started = timezone.now().replace(microsecond=0) - 12 * DAY
    subscription, clock = billed_by_usage(people.acme, [meters["seats"]], frozen_time=int(started.timestamp()))
    item = subscription["items"]["data"][0]
    start = dt.datetime.fromtimestamp(item["current_period_start"], dt.UTC)
    end = dt.datetime.fromtimestamp(item["current_period_end"], dt.UTC)
    _activity(people.acme, "member@example.com", [start, start + DAY, start + 2 * DAY], "m")
    _activity(people.acme, "owner@example.com", [start + n * DAY for n in range(12)], "o")
    reporting.usage_report()
    done = fairbilling.fair_billing()
    assert done == {"made": 1, "sent": 1}
    assert fairbilling.fair_billing() == {"made": 0, "sent": 0}
    credit = SeatCredit.objects.get()
    length = (end - start).total_seconds()
    expected = fairbilling.prorate(875, int((end - (start + 9 * DAY)).total_seconds()), int(length))
    assert credit.amount == expected and credit.status == "sent"
    txn = gateway().get(f"/v1/customers/{people.acme.stripe_customer_id}/balance_transactions/{credit.stripe_id}")
    assert txn["amount"] == -expected and txn["metadata"]["member"] == "member@example.com"
    gateway().post(
        f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
        {"frozen_time": int(end.timestamp()) + 60},
        idempotency_key=f"test:advance:{clock['id']}",
    )
    latest = gateway().get(f"/v1/subscriptions/{subscription['id']}")["latest_invoice"]
    renewal = gateway().get(f"/v1/invoices/{latest}")
    assert renewal["total"] == 2 * 875  # two active seats
    assert renewal["amount_due"] == 2 * 875 - expected  # less the fair-billing credit
