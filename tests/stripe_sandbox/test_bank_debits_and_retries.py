"""Bank debits settle over days as a test clock advances; automatic retries stop with auto_advance=false;
bulk fixtures of past-due invoices; the count of 429s."""

import time
import urllib.request

import pytest
import stripe

from tests.stripe_sandbox.conftest import catalog, control, customer_with_card

DAY = 86400


def bank_customer(sb, kind: str, account: str, clock: str):
    customer = sb.v1.customers.create({"email": "debit@x.example", "name": "Debit GmbH", "test_clock": clock})
    details = (
        {"type": "us_bank_account", "us_bank_account": {"routing_number": "110000000", "account_number": account}}
        if kind == "us_bank_account"
        else {"type": "sepa_debit", "sepa_debit": {"iban": account}}
    )
    seti = sb.v1.setup_intents.create(
        {
            "customer": customer.id,
            "confirm": True,
            "payment_method_types": [kind],
            "payment_method_data": {**details, "billing_details": {"name": "Debit GmbH", "email": "debit@x.example"}},
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        }
    )
    sb.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": seti.payment_method}})
    return customer


def events_of(sb, kind: str) -> list:
    return sb.v1.events.list({"type": kind, "limit": 100}).data


def a_monday_noon() -> int:
    now = int(time.time())
    day = now - now % DAY
    while time.gmtime(day).tm_wday != 0:
        day += DAY
    return day + 12 * 3600


def test_ach_subscription_is_processing_until_it_settles_four_business_days_later(sb):
    price = catalog(sb)
    start = a_monday_noon()
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": start})
    customer = bank_customer(sb, "us_bank_account", "000123456789", clock.id)
    sub = sb.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    assert sub.status == "incomplete"  # Stripe: incomplete while the first payment is pending
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.status == "open" and invoice.attempt_count == 1 and invoice.next_payment_attempt is None
    intent = sb.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)
    assert intent.status == "processing"
    charge = sb.v1.charges.retrieve(intent.latest_charge)
    assert charge.status == "pending" and not charge.paid
    assert [e.data.object.id for e in events_of(sb, "payment_intent.processing")] == [intent.id]

    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": start + 3 * DAY})  # Thursday: not yet
    assert sb.v1.payment_intents.retrieve(intent.id).status == "processing"
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": start + 4 * DAY + 60})  # Friday
    assert sb.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    assert sb.v1.charges.retrieve(charge.id).status == "succeeded"
    assert sb.v1.invoices.retrieve(invoice.id).status == "paid"
    assert sb.v1.subscriptions.retrieve(sub.id).status == "active"
    assert [e.data.object.id for e in events_of(sb, "invoice.paid")] == [invoice.id]


@pytest.mark.parametrize(
    ("kind", "account", "days", "code"),  # days: calendar days from a Monday
    [
        ("us_bank_account", "000111111113", 4, "insufficient_funds"),
        ("us_bank_account", "000111111116", 4, "account_closed"),
        ("sepa_debit", "DE62370400440532013001", 7, "generic_decline"),  # 5 business days,
    ],
)
def test_a_failing_debit_fails_when_it_settles_with_the_invoice_failed_events(sb, kind, account, days, code):
    start = a_monday_noon()
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": start})
    customer = bank_customer(sb, kind, account, clock.id)
    invoice = sb.v1.invoices.create({"customer": customer.id, "currency": "usd", "auto_advance": True})
    sb.v1.invoice_items.create({"customer": customer.id, "invoice": invoice.id, "amount": 5000, "currency": "usd"})
    sb.v1.invoices.finalize_invoice(invoice.id)
    paying = sb.v1.invoices.pay(invoice.id)  # no 402: the debit is on its way
    assert paying.status == "open" and paying.attempt_count == 1
    assert not events_of(sb, "invoice.payment_failed")

    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": start + days * DAY - 3600})
    assert not events_of(sb, "invoice.payment_failed")
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": start + days * DAY + 60})
    intent = sb.v1.payment_intents.retrieve(paying.payments.data[0].payment.payment_intent)
    assert intent.status == "requires_payment_method" and intent.last_payment_error.decline_code == code
    charge = sb.v1.charges.retrieve(intent.latest_charge)
    assert charge.status == "failed" and charge.failure_code == code
    assert [e.data.object.id for e in events_of(sb, "payment_intent.payment_failed")] == [intent.id]
    failed = events_of(sb, "invoice.payment_failed")
    assert [e.data.object.id for e in failed] == [invoice.id]
    assert sb.v1.invoices.retrieve(invoice.id).status == "open"


def test_automatic_retries_stop_when_auto_advance_is_turned_off(sb):
    price = catalog(sb)
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    customer, _ = customer_with_card(sb, test_clock=clock.id, token="pm_card_chargeCustomerFail")
    dunned, _ = customer_with_card(sb, test_clock=clock.id, token="pm_card_chargeCustomerFail")
    invoices = []
    for who in (customer, dunned):
        sub = sb.v1.subscriptions.create({"customer": who.id, "items": [{"price": price.id}]})
        invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
        assert invoice.attempt_count == 1 and invoice.next_payment_attempt
        invoices.append(invoice)
    off = sb.v1.invoices.update(invoices[1].id, {"auto_advance": False})
    assert off.auto_advance is False and off.next_payment_attempt is None

    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": clock.frozen_time + 20 * DAY})
    assert sb.v1.invoices.retrieve(invoices[0].id).attempt_count == 4  # Stripe's 3/5/7-day retries
    assert sb.v1.invoices.retrieve(invoices[1].id).attempt_count == 1  # none: the integration duns it
    with pytest.raises(stripe.CardError):
        sb.v1.invoices.pay(invoices[1].id)  # an explicit attempt still works, and leaves no retry behind
    after = sb.v1.invoices.retrieve(invoices[1].id)
    assert after.attempt_count == 2 and after.next_payment_attempt is None


def test_bulk_fixtures_make_past_due_invoices_in_stripes_shapes(sb):
    made = control(sb.url, "/_sandbox/fixtures/past_due_invoices", {"count": 5, "amount": 1234, "events": False})
    assert len(made["invoices"]) == len(made["customers"]) == 5
    for invoice_id, customer_id in zip(made["invoices"], made["customers"], strict=True):
        invoice = sb.v1.invoices.retrieve(invoice_id)
        assert invoice.customer == customer_id and invoice.status == "open"
        assert invoice.attempt_count == 1 and invoice.amount_remaining == 1234 and invoice.number
        assert invoice.auto_advance is True and invoice.next_payment_attempt
        customer = sb.v1.customers.retrieve(customer_id)
        assert customer.invoice_settings.default_payment_method
    assert len(sb.v1.charges.list({"limit": 100}).data) == 5
    assert not sb.v1.events.list({"limit": 10}).data  # quiet: nothing recorded or delivered
    quiet_retries = control(sb.url, "/_sandbox/fixtures/past_due_invoices", {"count": 1, "auto_advance": False})
    assert sb.v1.invoices.retrieve(quiet_retries["invoices"][0]).next_payment_attempt is None
    with pytest.raises(urllib.error.HTTPError):
        control(sb.url, "/_sandbox/fixtures/past_due_invoices", {"count": 0})


def test_health_counts_requests_refused_by_the_rate_limit(sb):
    import json

    control(sb.url, "/_sandbox/faults", {"rate_limit": True})
    refused = 0
    for _ in range(40):
        try:
            sb.v1.customers.list()
        except stripe.RateLimitError:
            refused += 1
    control(sb.url, "/_sandbox/faults", {"rate_limit": False})
    with urllib.request.urlopen(f"{sb.url}/_sandbox/health", timeout=5) as response:
        health = json.loads(response.read())
    assert refused >= 10 and health["rate_limited"] == refused
