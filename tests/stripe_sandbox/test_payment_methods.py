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
