"""MRR, ARR and movements on a hand-built account, to the minor unit."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.currencies.fx import RateBook
from billing.currencies.models import FxRate
from billing.reports import selectors
from billing.reports.models import MonthlyTotal, MrrMovement, SubscriptionMrr
from billing.stripe import processing
from billing.stripe.models import StripeEvent
from tests import stripe_payloads as sp

pytestmark = pytest.mark.django_db

DAY = 86400
T0 = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp())


def deliver(obj: dict, event_type: str, at: int) -> None:
    evt = sp.event(obj, event_type, created=at)
    StripeEvent.objects.create(
        id=evt["id"],
        type=event_type,
        created=dt.datetime.fromtimestamp(at, dt.UTC),
        object_type=obj["object"],
        object_id=obj["id"],
        payload=evt,
    )
    processing.event_process(event_id=evt["id"])


def subscription(sub_id, customer, price, quantity, *, status="active", **extra):
    return {**sp.subscription(sub_id, customer_id=customer, the_price=price, quantity=quantity, status=status), **extra}


PRO_USD = sp.price("price_pro_usd", product_id="prod_pro", currency="usd", unit_amount=875)
ANNUAL_EUR = sp.price("price_ann_eur", product_id="prod_pro", currency="eur", unit_amount=8000, interval="year")
PRO_JPY = sp.price("price_pro_jpy", product_id="prod_pro", currency="jpy", unit_amount=1050)
PRO_KWD = sp.price("price_pro_kwd", product_id="prod_pro", currency="kwd", unit_amount=2700)
METERED = {
    **sp.price("price_meter", product_id="prod_api", currency="usd", unit_amount=3),
    "recurring": {"interval": "month", "interval_count": 1, "meter": "mtr_1", "usage_type": "metered"},
}


@pytest.fixture
def account(db):
    """Five customers across four currencies, through Stripe-shaped events."""
    # A: USD monthly, 10 seats, plus a metered item (excluded); grows to 15 seats in April.
    a = subscription("sub_a", "cus_a", PRO_USD, 10)
    a["items"]["data"].append(sp.subscription_item("sub_a", METERED, 1, T0, id="si_meter"))
    deliver(a, "customer.subscription.created", T0)
    deliver(subscription("sub_a", "cus_a", PRO_USD, 15), "customer.subscription.updated", T0 + 40 * DAY)
    # B: EUR annual, 12 seats, 25 % off for ever (a discount that applies now).
    deliver(
        {
            "id": "SAVE25",
            "object": "coupon",
            "percent_off": 25,
            "duration": "forever",
            "livemode": False,
            "created": T0,
            "metadata": {},
            "valid": True,
        },
        "coupon.created",
        T0,
    )
    deliver(
        {
            "id": "di_b",
            "object": "discount",
            "customer": "cus_b",
            "subscription": "sub_b",
            "invoice": None,
            "start": T0,
            "end": None,
            "source": {"coupon": "SAVE25", "type": "coupon"},
        },
        "customer.discount.created",
        T0 + 1,
    )
    deliver(subscription("sub_b", "cus_b", ANNUAL_EUR, 12), "customer.subscription.created", T0 + 2)
    # C: JPY monthly, 5 seats, ¥500 off each month; cancels at period end (still paying), then ends.
    deliver(
        {
            "id": "YEN500",
            "object": "coupon",
            "amount_off": 500,
            "currency": "jpy",
            "duration": "forever",
            "livemode": False,
            "created": T0,
            "metadata": {},
            "valid": True,
        },
        "coupon.created",
        T0,
    )
    deliver(
        {
            "id": "di_c",
            "object": "discount",
            "customer": "cus_c",
            "subscription": "sub_c",
            "invoice": None,
            "start": T0,
            "end": None,
            "source": {"coupon": "YEN500", "type": "coupon"},
        },
        "customer.discount.created",
        T0 + 1,
    )
    deliver(subscription("sub_c", "cus_c", PRO_JPY, 5), "customer.subscription.created", T0 + 2)
    deliver(
        subscription("sub_c", "cus_c", PRO_JPY, 5, cancel_at_period_end=True),
        "customer.subscription.updated",
        T0 + 20 * DAY,
    )
    deliver(
        subscription("sub_c", "cus_c", PRO_JPY, 5, status="canceled", ended_at=T0 + 31 * DAY),
        "customer.subscription.deleted",
        T0 + 31 * DAY,
    )
    # D: USD trial (excluded), paying from its trial's end.
    deliver(
        subscription("sub_d", "cus_d", PRO_USD, 4, status="trialing", trial_end=T0 + 14 * DAY),
        "customer.subscription.created",
        T0,
    )
    deliver(subscription("sub_d", "cus_d", PRO_USD, 4), "customer.subscription.updated", T0 + 14 * DAY)
    # E: KWD monthly, 3 seats; churns in April, comes back in May with 2 seats.
    deliver(subscription("sub_e", "cus_e", PRO_KWD, 3), "customer.subscription.created", T0)
    deliver(
        subscription("sub_e", "cus_e", PRO_KWD, 3, status="canceled", ended_at=T0 + 45 * DAY),
        "customer.subscription.deleted",
        T0 + 45 * DAY,
    )
    deliver(subscription("sub_e2", "cus_e", PRO_KWD, 2), "customer.subscription.created", T0 + 70 * DAY)


def test_each_subscription_mrr_to_the_minor_unit(account):
    assert dict(SubscriptionMrr.objects.values_list("subscription_id", "mrr")) == {
        "sub_a": 13_125,  # 15 × $8.75; the metered item adds nothing
        "sub_b": 6_000,  # 12 × €80 / 12 months, 25 % off
        "sub_c": 0,  # ended
        "sub_d": 3_500,  # 4 × $8.75 since its trial ended
        "sub_e": 0,
        "sub_e2": 5_400,  # 2 × KD 2.700 (three decimals)
    }


def test_movements_are_classified_per_customer(account):
    moves = [(m.customer_id, m.kind, m.amount, m.currency) for m in MrrMovement.objects.order_by("effective_at", "id")]
    assert moves == [
        ("cus_a", "new", 8_750, "usd"),
        ("cus_e", "new", 8_100, "kwd"),
        ("cus_b", "new", 6_000, "eur"),
        ("cus_c", "new", 4_750, "jpy"),  # 5 × ¥1,050 − ¥500
        ("cus_d", "new", 3_500, "usd"),
        ("cus_c", "churn", -4_750, "jpy"),
        ("cus_a", "expansion", 4_375, "usd"),
        ("cus_e", "churn", -8_100, "kwd"),
        ("cus_e", "reactivation", 5_400, "kwd"),
    ]
    # Cancel at period end changed nothing until the subscription ended.
    assert not MrrMovement.objects.filter(
        customer_id="cus_c", effective_at__lt=dt.datetime.fromtimestamp(T0 + 31 * DAY, dt.UTC), kind="churn"
    ).exists()


def test_the_dashboard_adds_it_up_in_the_reporting_currency(account, settings):
    settings.PORTAL_REPORTING_CURRENCY = "usd"
    day = dt.date(2026, 1, 1)
    for currency, rate in (("eur", "1.1"), ("jpy", "0.0067"), ("kwd", "3.25")):
        FxRate.objects.create(currency=currency, quote="usd", rate=Decimal(rate), day=day, source="test")
    board = selectors.dashboard(months=6, today=dt.date(2026, 6, 15), book=RateBook("usd"))
    # USD 13,125 + 3,500; EUR 60.00 × 1.1 = $66.00; KWD 5.400 × 3.25 = $17.55
    assert board.mrr_now == 13_125 + 3_500 + 6_600 + 1_755
    assert board.arr == board.mrr_now * 12
    assert board.mrr_now_by_currency == {"usd": 16_625, "eur": 6_000, "kwd": 5_400}
    assert board.paying_customers == 4 and board.active_subscriptions == 4
    march, april, may = 3, 4, 5  # the window is Jan..Jun
    index = {m.month: i for i, m in enumerate(board.months)}
    assert (
        board.movements["new"][index[march]] == 8_750 + 3_500 + 6_600 + 3_183 + 2_633
    )  # ¥4,750 → $31.83; KD 8.100 → $26.33
    assert board.movements["churn"][index[april]] == -2_633 - 3_183
    assert board.movements["expansion"][index[april]] == 4_375
    assert board.movements["reactivation"][index[may]] == 1_755
    assert board.mrr[index[june := 6]] == board.mrr_now
    assert board.logo_churn[index[april]] == 40.0  # 2 of 5 paying customers
    assert board.customers[index[june]] == 4


def test_the_dashboard_reads_a_fixed_number_of_queries(account, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        selectors.dashboard()
    MonthlyTotal.objects.bulk_create(
        [
            MonthlyTotal(ledger="mrr", month=dt.date(2025, m, 1), currency="usd", kind="new", amount=100, count=1)
            for m in range(1, 13)
        ]
    )
    with django_assert_max_num_queries(6):
        selectors.dashboard()


def test_a_repeated_event_records_nothing_new(account):
    before = MrrMovement.objects.count()
    deliver(subscription("sub_a", "cus_a", PRO_USD, 15), "customer.subscription.updated", T0 + 41 * DAY)
    assert MrrMovement.objects.count() == before


def test_the_ledger_check_finds_a_subscription_the_ledger_got_wrong(account):
    from billing.reports.checks import ledger_check

    assert ledger_check().differing == 0
    SubscriptionMrr.objects.filter(subscription_id="sub_a").update(mrr=1)
    check = ledger_check()
    assert check.differing == 1 and check.details == [{"subscription": "sub_a", "ledger": 1, "mirror": 13_125}]
    ledger_check(repair=True)
    assert ledger_check().differing == 0
