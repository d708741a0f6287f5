"""Plan, seat and frequency changes against the sandbox: the preview's amount is what Stripe then
invoices, to the minor unit, in a two-, a zero- and a three-decimal currency."""

import uuid

import pytest
from djstripe.models import Invoice, Subscription

from billing.stripe import mirror
from billing.stripe.gateway import gateway
from billing.subscriptions import changes
from billing.subscriptions.models import ChangeStatus, SubscriptionChange
from billing.subscriptions.services import SubscriptionError, subscription_set_cancel_at_period_end
from tests import billing_world as world

pytestmark = pytest.mark.django_db
CURRENCIES = ["usd", "eur", "jpy", "kwd"]


def sub_row(subscription_id: str) -> Subscription:
    return Subscription.objects.get(id=subscription_id)


def change(org, price_id, quantity, *, at=None):
    sub = sub_row(org.subscription_id)
    preview = changes.preview(organisation=org.organisation, subscription=sub, price_id=price_id, quantity=quantity)
    row = changes.apply(
        organisation=org.organisation,
        subscription=sub,
        price_id=price_id,
        quantity=quantity,
        proration_date=preview.proration_date,
        request_id=uuid.uuid4(),
        previewed_amount=preview.amount,
    )
    return preview, row


def newest_invoice(org) -> dict:
    """The newest invoice in the mirror (an event for the subscription need not carry its latest invoice)."""
    return Invoice.objects.filter(customer__id=org.customer_id).order_by("-created", "-djstripe_id")[0].stripe_data


def refresh(org) -> dict:
    """The subscription as Stripe has it now, written into the mirror (as its events would)."""
    data = gateway().get(f"/v1/subscriptions/{org.subscription_id}")
    mirror.apply_object(data)
    return data


@pytest.fixture
def clock_now(sandbox):
    return None


@pytest.mark.parametrize("currency", CURRENCIES)
def test_upgrade_now_charges_what_the_preview_said(sandbox, currency):
    w = world.catalog(currency)
    org = world.organisation(currency)
    world.subscribe(org, w.prices[("pro", "month")], 7)
    world.advance(org, 11 * world.DAY + 3 * 3600)  # part-way through the month: a real proration
    preview, row = change(org, w.prices[("business", "month")], 7)
    assert preview.target.decision.now and preview.due_now is not None
    assert preview.due_now.credited > 0 and preview.due_now.charged > preview.due_now.credited
    assert row.status == ChangeStatus.applied and row.invoice_id
    invoice = Invoice.objects.get(id=row.invoice_id)  # written through in the same request
    assert invoice.stripe_data["amount_due"] == preview.due_now.amount_due == row.previewed_amount
    assert invoice.stripe_data["status"] == "paid"
    assert (
        sub_row(org.subscription_id).stripe_data["items"]["data"][0]["price"]["id"] == w.prices[("business", "month")]
    )
    # The next invoice, as previewed, is the renewal Stripe issues.
    world.advance(org, 31 * world.DAY)
    renewal = gateway().get(f"/v1/invoices/{refresh(org)['latest_invoice']}")
    assert renewal["billing_reason"] == "subscription_cycle"
    assert renewal["amount_due"] == preview.next_invoice.amount_due == 7 * world.MONTHLY[currency]["business"]


@pytest.mark.parametrize("currency", CURRENCIES)
def test_more_seats_now(sandbox, currency):
    w = world.catalog(currency)
    org = world.organisation(currency)
    world.subscribe(org, w.prices[("pro", "month")], 3)
    world.advance(org, 17 * world.DAY)
    preview, row = change(org, w.prices[("pro", "month")], 5)
    assert preview.target.decision.label == "More seats" and preview.target.decision.now
    assert Invoice.objects.get(id=row.invoice_id).stripe_data["amount_due"] == preview.due_now.amount_due
    assert sub_row(org.subscription_id).stripe_data["items"]["data"][0]["quantity"] == 5


@pytest.mark.parametrize("currency", CURRENCIES)
def test_monthly_to_annual_now(sandbox, currency):
    w = world.catalog(currency)
    org = world.organisation(currency)
    world.subscribe(org, w.prices[("pro", "month")], 4)
    world.advance(org, 9 * world.DAY)
    preview, row = change(org, w.prices[("pro", "year")], 4)
    assert preview.target.decision.label == "Monthly → annual" and preview.target.decision.now
    assert preview.due_now.credited > 0  # the unused part of the month
    invoice = Invoice.objects.get(id=row.invoice_id)
    assert invoice.stripe_data["amount_due"] == preview.due_now.amount_due
    assert preview.next_invoice.amount_due == 4 * 10 * world.MONTHLY[currency]["pro"]
    assert preview.next_date and (preview.next_date - preview.target.subscription.created).days >= 360


@pytest.mark.parametrize("currency", CURRENCIES)
def test_downgrade_waits_for_the_renewal(sandbox, currency):
    w = world.catalog(currency)
    org = world.organisation(currency)
    world.subscribe(org, w.prices[("business", "month")], 6)
    world.advance(org, 5 * world.DAY)
    preview, row = change(org, w.prices[("pro", "month")], 4)
    assert not preview.target.decision.now and preview.due_now is None
    assert row.status == ChangeStatus.scheduled and row.schedule_id and row.effective_at == preview.effective
    assert row.previewed_amount == preview.next_invoice.amount_due == 4 * world.MONTHLY[currency]["pro"]
    before = sub_row(org.subscription_id).stripe_data
    assert before["items"]["data"][0]["price"]["id"] == w.prices[("business", "month")]  # nothing yet
    world.advance(org, 30 * world.DAY)
    world.apply_stripe_events()
    after = sub_row(org.subscription_id).stripe_data
    assert after["items"]["data"][0]["price"]["id"] == w.prices[("pro", "month")]
    assert after["items"]["data"][0]["quantity"] == 4
    renewal = newest_invoice(org)
    assert renewal["billing_reason"] == "subscription_cycle"
    assert renewal["amount_due"] == preview.next_invoice.amount_due
    row.refresh_from_db()
    assert row.status == ChangeStatus.applied  # followed by event


@pytest.mark.parametrize("currency", CURRENCIES)
def test_annual_to_monthly_at_the_end_of_the_year(sandbox, currency):
    w = world.catalog(currency)
    org = world.organisation(currency)
    world.subscribe(org, w.prices[("pro", "year")], 3)
    world.advance(org, 40 * world.DAY)
    preview, row = change(org, w.prices[("pro", "month")], 3)
    assert preview.target.decision.label == "Annual → monthly" and row.status == ChangeStatus.scheduled
    world.advance(org, 330 * world.DAY)
    world.apply_stripe_events()
    after = sub_row(org.subscription_id).stripe_data
    assert after["items"]["data"][0]["price"]["recurring"]["interval"] == "month"
    assert newest_invoice(org)["amount_due"] == preview.next_invoice.amount_due


@pytest.mark.parametrize("currency", CURRENCIES)
def test_cancel_at_period_end_and_resume(sandbox, currency):
    w = world.catalog(currency)
    org = world.organisation(currency)
    world.subscribe(org, w.prices[("pro", "month")], 2)
    sub = sub_row(org.subscription_id)
    upcoming = changes.preview(
        organisation=org.organisation, subscription=sub, price_id=w.prices[("pro", "month")], quantity=3
    )
    cancel = subscription_set_cancel_at_period_end(
        organisation=org.organisation, subscription=sub, cancel=True, request_id=uuid.uuid4()
    )
    assert cancel.status == ChangeStatus.applied and sub_row(sub.id).stripe_data["cancel_at_period_end"] is True
    resume = subscription_set_cancel_at_period_end(
        organisation=org.organisation, subscription=sub_row(sub.id), cancel=False, request_id=uuid.uuid4()
    )
    assert resume.status == ChangeStatus.applied and sub_row(sub.id).stripe_data["cancel_at_period_end"] is False
    world.advance(org, 32 * world.DAY)
    renewal = gateway().get(f"/v1/invoices/{refresh(org)['latest_invoice']}")
    assert renewal["amount_due"] == 2 * world.MONTHLY[currency]["pro"]
    assert upcoming.next_invoice.amount_due == 3 * world.MONTHLY[currency]["pro"]
    # Cancel again (a new request, so a new key: not Stripe's replay of the first cancel) and let it end.
    subscription_set_cancel_at_period_end(
        organisation=org.organisation, subscription=sub_row(sub.id), cancel=True, request_id=uuid.uuid4()
    )
    world.advance(org, 32 * world.DAY)
    assert refresh(org)["status"] == "canceled"


def test_a_declined_upgrade_changes_nothing(sandbox):
    w = world.catalog("usd")
    org = world.organisation("usd", card="pm_card_chargeCustomerFail")
    world.subscribe(org, w.prices[("pro", "month")], 2, trial_days=1)
    world.advance(org, 2 * world.DAY)  # the trial ends, its first invoice fails: past due
    refresh(org)
    sub = sub_row(org.subscription_id)
    with pytest.raises(SubscriptionError, match="unpaid invoice"):
        changes.preview(
            organisation=org.organisation, subscription=sub, price_id=w.prices[("business", "month")], quantity=2
        )

    good = world.organisation("usd")
    world.subscribe(good, w.prices[("pro", "month")], 2)
    failing = gateway().post(
        "/v1/payment_methods/pm_card_chargeCustomerFail/attach", {"customer": good.customer_id}, idempotency_key="f1"
    )
    gateway().post(
        f"/v1/subscriptions/{good.subscription_id}", {"default_payment_method": failing["id"]}, idempotency_key="f2"
    )
    refresh(good)
    preview, row = change(good, w.prices[("business", "month")], 2)
    assert row.status == ChangeStatus.failed and "declined" in row.error
    assert sub_row(good.subscription_id).stripe_data["items"]["data"][0]["price"]["id"] == w.prices[("pro", "month")]
    assert (
        gateway().get(f"/v1/subscriptions/{good.subscription_id}")["items"]["data"][0]["price"]["id"]
        == w.prices[("pro", "month")]
    )


def test_a_double_submit_sends_once(sandbox, stripe_calls):
    w = world.catalog("usd")
    org = world.organisation("usd")
    world.subscribe(org, w.prices[("pro", "month")], 2)
    sub = sub_row(org.subscription_id)
    preview = changes.preview(
        organisation=org.organisation, subscription=sub, price_id=w.prices[("pro", "month")], quantity=9
    )
    request_id = uuid.uuid4()
    kwargs = dict(organisation=org.organisation, subscription=sub, price_id=w.prices[("pro", "month")], quantity=9,
                  proration_date=preview.proration_date, request_id=request_id)  # fmt: skip
    stripe_calls.clear()
    first = changes.apply(**kwargs)
    second = changes.apply(**kwargs)
    assert first.pk == second.pk and SubscriptionChange.objects.count() == 1
    updates = [c for c in stripe_calls if c[0] == "POST" and c[1].startswith("/v1/subscriptions/")]
    assert len(updates) == 1


@pytest.mark.parametrize(
    ("price", "quantity", "message"),
    [
        ("price_tampered", 3, "not one you can choose"),
        ("enterprise", 3, "not one you can choose"),
        ("eur", 3, "priced in EUR"),
        ("same", 0, "at least one seat"),
        ("same", -4, "at least one seat"),
        ("same", "3.5", "whole number"),
        ("same", 501, "at most 500 seats"),
        ("same", 2, "already have"),
    ],
)
def test_bad_changes_are_refused_before_stripe(sandbox, stripe_calls, price, quantity, message):
    from billing.catalog.services import price_create, product_create

    w = world.catalog("usd")
    euro = world.catalog("eur")
    enterprise = price_create(
        product_id=product_create(key="enterprise", name="Enterprise Grid")["id"],
        currency="usd",
        unit_amount=3000,
        interval="month",
        lookup_key="enterprise_monthly_usd",
    )["id"]  # in the catalog, not offered to self-serve
    org = world.organisation("usd")
    world.subscribe(org, w.prices[("pro", "month")], 2)
    price_id = {
        "same": w.prices[("pro", "month")],
        "eur": euro.prices[("business", "month")],
        "enterprise": enterprise,
    }.get(price, price)
    stripe_calls.clear()
    with pytest.raises(SubscriptionError, match=message):
        changes.preview(
            organisation=org.organisation,
            subscription=sub_row(org.subscription_id),
            price_id=price_id,
            quantity=quantity,
        )
    assert not [c for c in stripe_calls if c[1].startswith(("/v1/invoices", "/v1/subscriptions"))]


def test_an_old_preview_cannot_be_confirmed(sandbox):
    w = world.catalog("usd")
    org = world.organisation("usd")
    world.subscribe(org, w.prices[("pro", "month")], 2)
    sub = sub_row(org.subscription_id)
    preview = changes.preview(
        organisation=org.organisation, subscription=sub, price_id=w.prices[("pro", "month")], quantity=3
    )
    with pytest.raises(SubscriptionError, match="expired"):
        changes.apply(
            organisation=org.organisation, subscription=sub, price_id=w.prices[("pro", "month")], quantity=3,
            proration_date=preview.proration_date - changes.PREVIEW_TTL_SECONDS - 5, request_id=uuid.uuid4(),
        )  # fmt: skip
    assert not SubscriptionChange.objects.exists()


def test_a_scheduled_change_can_be_canceled(sandbox):
    w = world.catalog("usd")
    org = world.organisation("usd")
    world.subscribe(org, w.prices[("business", "month")], 5)
    _, row = change(org, w.prices[("pro", "month")], 5)
    assert row.status == ChangeStatus.scheduled
    sub = sub_row(org.subscription_id)
    released = changes.cancel_scheduled(organisation=org.organisation, subscription=sub, request_id=uuid.uuid4())
    assert released.status == ChangeStatus.applied
    row.refresh_from_db()
    assert row.status == ChangeStatus.canceled
    world.advance(org, 32 * world.DAY)
    assert refresh(org)["items"]["data"][0]["price"]["id"] == w.prices[("business", "month")]
