"""Payment methods through SetupIntents: card, ACH and SEPA; a declining card."""

import pytest
import stripe


def test_card_ach_and_sepa_through_setup_intents(sb):
    customer = sb.v1.customers.create({"email": "pm@x.example", "name": "PM GmbH"})
    card = sb.v1.setup_intents.create({"customer": customer.id, "payment_method": "pm_card_visa", "confirm": True})
    ach = sb.v1.setup_intents.create(
        {
            "customer": customer.id,
            "confirm": True,
            "payment_method_types": ["us_bank_account"],
            "payment_method_data": {
                "type": "us_bank_account",
                "billing_details": {"name": "PM"},
                "us_bank_account": {
                    "routing_number": "110000000",
                    "account_number": "000123456789",
                    "account_holder_type": "company",
                },
            },
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        }
    )
    sepa = sb.v1.setup_intents.create(
        {
            "customer": customer.id,
            "confirm": True,
            "payment_method_types": ["sepa_debit"],
            "payment_method_data": {
                "type": "sepa_debit",
                "sepa_debit": {"iban": "DE89370400440532013000"},
                "billing_details": {"name": "PM GmbH", "email": "pm@x.example"},
            },
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        }
    )
    assert {card.status, ach.status, sepa.status} == {"succeeded"}
    assert ach.mandate and sepa.mandate
    methods = sb.v1.payment_methods.list({"customer": customer.id, "type": "sepa_debit"})
    assert [m.sepa_debit.last4 for m in methods.data] == ["3000"]
    all_methods = sb.v1.customers.payment_methods.list(customer.id)
    assert {m.type for m in all_methods.data} == {"card", "us_bank_account", "sepa_debit"}
    sb.v1.payment_methods.detach(card.payment_method)
    assert len(sb.v1.customers.payment_methods.list(customer.id).data) == 2


def test_a_declining_card_fails_setup_with_a_card_error(sb):
    customer = sb.v1.customers.create({"email": "d@x.example"})
    with pytest.raises(stripe.CardError) as declined:
        sb.v1.setup_intents.create(
            {"customer": customer.id, "payment_method": "pm_card_chargeDeclined", "confirm": True}
        )
    assert declined.value.http_status == 402 and declined.value.code == "card_declined"


def ach_setup(sb, customer, account="000123456789", verification="microdeposits"):
    return sb.v1.setup_intents.create(
        {
            "customer": customer.id,
            "confirm": True,
            "payment_method_types": ["us_bank_account"],
            "payment_method_options": {"us_bank_account": {"verification_method": verification}},
            "payment_method_data": {
                "type": "us_bank_account",
                "billing_details": {"name": "Initech"},
                "us_bank_account": {"routing_number": "110000000", "account_number": account},
            },
            "mandate_data": {"customer_acceptance": {"type": "online", "online": {"ip_address": "127.0.0.1"}}},
        }
    )


def test_ach_by_micro_deposits(sb):
    customer = sb.v1.customers.create({"email": "ach@x.example"})
    seti = ach_setup(sb, customer)
    assert seti.status == "requires_action" and seti.next_action.type == "verify_with_microdeposits"
    assert seti.next_action.verify_with_microdeposits.microdeposit_type == "descriptor_code"
    assert sb.v1.customers.payment_methods.list(customer.id).data == []  # not usable before it is verified
    with pytest.raises(stripe.InvalidRequestError) as wrong:
        sb.v1.setup_intents.verify_microdeposits(seti.id, {"descriptor_code": "SM99ZZ"})
    assert wrong.value.code == "payment_method_microdeposit_verification_descriptor_code_mismatch"
    verified = sb.v1.setup_intents.verify_microdeposits(seti.id, {"descriptor_code": "sm11aa"})
    assert verified.status == "succeeded" and verified.mandate
    mandate = sb.v1.mandates.retrieve(verified.mandate)
    assert mandate.customer_acceptance.type == "online" and mandate.payment_method_details.type == "us_bank_account"
    assert [m.type for m in sb.v1.customers.payment_methods.list(customer.id).data] == ["us_bank_account"]


def test_ach_verification_fails_after_three_wrong_answers(sb):
    customer = sb.v1.customers.create({"email": "ach2@x.example"})
    seti = ach_setup(sb, customer)
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError, match="left"):
            sb.v1.setup_intents.verify_microdeposits(seti.id, {"amounts": [10, 11]})
    with pytest.raises(stripe.InvalidRequestError) as exceeded:
        sb.v1.setup_intents.verify_microdeposits(seti.id, {"amounts": [10, 11]})
    assert exceeded.value.code == "payment_method_microdeposit_verification_attempts_exceeded"
    after = sb.v1.setup_intents.retrieve(seti.id)
    assert after.status == "requires_payment_method" and after.last_setup_error.code == exceeded.value.code
    instant = ach_setup(sb, customer, verification="instant")
    assert instant.status == "succeeded"


def test_bacs_direct_debit_with_its_mandate(sb):
    customer = sb.v1.customers.create({"email": "bacs@x.example", "name": "Hooli Ltd"})
    seti = sb.v1.setup_intents.create(
        {
            "customer": customer.id,
            "confirm": True,
            "payment_method_types": ["bacs_debit"],
            "payment_method_data": {
                "type": "bacs_debit",
                "bacs_debit": {"sort_code": "108800", "account_number": "00012345"},
                "billing_details": {"name": "Hooli Ltd", "email": "bacs@x.example"},
            },
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        }
    )
    assert seti.status == "succeeded"
    pm = sb.v1.payment_methods.retrieve(seti.payment_method)
    assert pm.type == "bacs_debit" and pm.bacs_debit.sort_code == "108800" and pm.bacs_debit.last4 == "2345"
    mandate = sb.v1.mandates.retrieve(seti.mandate)
    assert mandate.payment_method_details.bacs_debit.network_status == "accepted"
    assert mandate.payment_method_details.bacs_debit.reference
    with pytest.raises(stripe.InvalidRequestError, match="sort code"):
        sb.v1.payment_methods.create({"type": "bacs_debit", "bacs_debit": {"sort_code": "12", "account_number": "1"}})


def test_setup_intents_refuse_unknown_method_types(sb):
    with pytest.raises(stripe.InvalidRequestError, match="invalid"):
        sb.v1.setup_intents.create({"payment_method_types": ["wechat_pay_typo"]})
