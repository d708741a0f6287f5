"""Local payment methods through SetupIntents: BECS, pre-authorised debit, iDEAL and Bancontact
(which save a SEPA Direct Debit method for renewals), charged by subscriptions in their currency.
Each is a bank debit: `processing` until it settles business days later, as a test clock advances."""

import time

import pytest
import stripe

from tests.stripe_sandbox.conftest import catalog

OFFLINE = {"customer_acceptance": {"type": "offline"}}
# The keys of Stripe's example setup_attempt (fixtures3.json).
SETUP_ATTEMPT_KEYS = {
    "application", "created", "customer", "customer_account", "flow_directions", "id", "livemode", "object",
    "on_behalf_of", "payment_method", "payment_method_details", "setup_error", "setup_intent", "status", "usage",
}  # fmt: skip
ACSS_OPTIONS = {
    "acss_debit": {
        "currency": "cad",
        "mandate_options": {
            "payment_schedule": "interval",
            "interval_description": "When your subscription renews",
            "transaction_type": "business",
        },
    }
}


DAY = 86400


def customer(sb, name="Maple Analytics"):
    """A customer on a test clock standing at a Monday noon, so settlements fall on known days."""
    now = int(time.time())
    monday = now - now % DAY
    while time.gmtime(monday).tm_wday != 0:
        monday += DAY
    clock = sb.v1.test_helpers.test_clocks.create({"frozen_time": monday + 12 * 3600})
    return sb.v1.customers.create({"email": "billing@maple.example", "name": name, "test_clock": clock.id})


def settle(sb, cust):
    """Advance the customer's clock a week: every bank debit made so far settles (BECS in 3 business
    days, pre-authorised debit and SEPA in 5), before the next renewal."""
    clock = sb.v1.test_helpers.test_clocks.retrieve(cust.test_clock)
    sb.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": clock.frozen_time + 7 * DAY + 60})


def intent_of(sb, invoice):
    return sb.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)


def billing(name="Maple Analytics"):
    return {"name": name, "email": "billing@maple.example"}


def subscribe(sb, cust, pm, currency, amount):
    price = catalog(sb, currency=currency, amount=amount)
    return sb.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": price.id, "quantity": 2}], "default_payment_method": pm}
    )


def test_becs_direct_debit_saves_with_a_mandate_and_pays_in_aud(sb):
    cust = customer(sb)
    seti = sb.v1.setup_intents.create(
        {
            "customer": cust.id,
            "confirm": True,
            "payment_method_types": ["au_becs_debit"],
            "payment_method_data": {
                "type": "au_becs_debit",
                "au_becs_debit": {"bsb_number": "000000", "account_number": "000123456"},
                "billing_details": billing(),
            },
            "mandate_data": OFFLINE,
        }
    )
    assert seti.status == "succeeded" and seti.mandate
    pm = sb.v1.payment_methods.retrieve(seti.payment_method)
    assert pm.type == "au_becs_debit" and pm.au_becs_debit.bsb_number == "000000" and pm.au_becs_debit.last4 == "3456"
    assert pm.customer == cust.id
    assert sb.v1.mandates.retrieve(seti.mandate).payment_method_details.type == "au_becs_debit"
    sub = subscribe(sb, cust, pm.id, "aud", 1300)
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert sub.status == "incomplete" and invoice.status == "open" and intent_of(sb, invoice).status == "processing"
    settle(sb, cust)
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 2600
    assert sb.v1.subscriptions.retrieve(sub.id).status == "active"


def test_becs_insufficient_funds_fails_the_payment(sb):
    cust = customer(sb)
    seti = sb.v1.setup_intents.create(
        {
            "customer": cust.id,
            "confirm": True,
            "payment_method_types": ["au_becs_debit"],
            "payment_method_data": {
                "type": "au_becs_debit",
                "au_becs_debit": {"bsb_number": "000000", "account_number": "111111116"},
                "billing_details": billing(),
            },
            "mandate_data": OFFLINE,
        }
    )
    sub = subscribe(sb, cust, seti.payment_method, "aud", 1300)
    assert sub.status == "incomplete"
    settle(sb, cust)  # the bank returns the debit when it settles
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.status == "open"  # and Stripe's retry, three days later, is on its way
    assert intent_of(sb, invoice).last_payment_error.decline_code == "insufficient_funds"


def test_becs_refuses_a_bad_bsb_and_a_missing_email(sb):
    cust = customer(sb)
    for data, param in (
        ({"bsb_number": "12", "account_number": "000123456"}, "au_becs_debit[bsb_number]"),
        ({"bsb_number": "000000", "account_number": "000123456"}, "billing_details[name]"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sb.v1.setup_intents.create(
                {
                    "customer": cust.id,
                    "confirm": True,
                    "payment_method_types": ["au_becs_debit"],
                    "payment_method_data": {
                        "type": "au_becs_debit",
                        "au_becs_debit": data,
                        "billing_details": billing() if "bsb" in param else {"name": "No Email"},
                    },
                    "mandate_data": OFFLINE,
                }
            )
        assert refused.value.param == param


def test_pre_authorised_debit_needs_its_mandate_options_then_pays_in_cad(sb):
    cust = customer(sb)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sb.v1.setup_intents.create({"customer": cust.id, "payment_method_types": ["acss_debit"]})
    assert refused.value.param == "payment_method_options[acss_debit][currency]"
    seti = sb.v1.setup_intents.create(
        {"customer": cust.id, "payment_method_types": ["acss_debit"], "payment_method_options": ACSS_OPTIONS}
    )
    assert seti.payment_method_options.acss_debit.mandate_options.transaction_type == "business"
    seti = sb.v1.setup_intents.confirm(
        seti.id,
        {
            "payment_method_data": {
                "type": "acss_debit",
                "acss_debit": {
                    "institution_number": "000",
                    "transit_number": "11000",
                    "account_number": "000123456789",
                },
                "billing_details": billing(),
            },
            "mandate_data": OFFLINE,
        },
    )
    assert seti.status == "succeeded" and seti.mandate
    pm = sb.v1.payment_methods.retrieve(seti.payment_method)
    assert (pm.acss_debit.institution_number, pm.acss_debit.transit_number, pm.acss_debit.last4) == (
        "000",
        "11000",
        "6789",
    )
    sub = subscribe(sb, cust, pm.id, "cad", 1199)
    settle(sb, cust)
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 2398
    charge = sb.v1.charges.list({"customer": cust.id}).data[0]
    assert charge.payment_method_details.type == "acss_debit"
    assert charge.payment_method_details.acss_debit.institution_number == "000"


@pytest.mark.parametrize("kind", ["ideal", "bancontact"])
def test_a_bank_redirect_saves_a_sepa_debit_method_that_renewals_are_charged_to(sb, kind):
    cust = customer(sb, "Tulip BV")
    data = {"type": kind, "billing_details": billing("Tulip BV")}
    if kind == "ideal":
        data["ideal"] = {"bank": "rabobank"}
    seti = sb.v1.setup_intents.create(
        {
            "customer": cust.id,
            "confirm": True,
            "payment_method_types": [kind],
            "payment_method_data": data,
            "mandate_data": OFFLINE,
        }
    )
    assert seti.status == "succeeded" and seti.latest_attempt and seti.mandate
    attempts = sb.v1.setup_attempts.list({"setup_intent": seti.id})
    attempt = attempts.data[0]
    assert set(attempt.to_dict()) == SETUP_ATTEMPT_KEYS
    assert attempt.id == seti.latest_attempt and attempt.status == "succeeded"
    details = attempt.payment_method_details[kind]
    sepa = sb.v1.payment_methods.retrieve(details.generated_sepa_debit)
    assert sepa.type == "sepa_debit" and sepa.customer == cust.id
    assert sepa.sepa_debit.generated_from.setup_attempt == attempt.id
    assert details.generated_sepa_debit_mandate == seti.mandate and details.iban_last4 == sepa.sepa_debit.last4
    # Only the SEPA method is saved on the customer: the redirect itself is single-use.
    assert [m.type for m in sb.v1.customers.payment_methods.list(cust.id).data] == ["sepa_debit"]
    sub = subscribe(sb, cust, sepa.id, "eur", 800)
    # The renewal is debited from the generated SEPA method: `processing` until the bank settles
    # it days later (settlement itself: test_bank_debits_and_retries).
    invoice = sb.v1.invoices.retrieve(sub.latest_invoice)
    intent = intent_of(sb, invoice)
    assert invoice.status == "open" and intent.status == "processing" and intent.payment_method == sepa.id
    settle(sb, cust)
    assert sb.v1.invoices.retrieve(sub.latest_invoice).status == "paid"
    price = sub["items"].data[0].price
    with pytest.raises(stripe.StripeError):
        sb.v1.subscriptions.create(
            {
                "customer": cust.id,
                "items": [{"price": price.id}],
                "default_payment_method": seti.payment_method,
                "payment_behavior": "error_if_incomplete",
            }
        )


def test_setup_attempts_are_listed_by_setup_intent_only(sb):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sb.v1.setup_attempts.list({})  # type: ignore[typeddict-item]
    assert refused.value.param == "setup_intent"
