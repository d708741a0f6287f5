"""The treatment table: seller registrations × customer place, kind, tax ID and exemption -> the
treatment and the rate; and tax amounts rounded as Stripe rounds them."""

import datetime as dt
from decimal import Decimal

import pytest

from taxes.treatment import Buyer, Reg, Seller, line_taxes, tax_amount, treat

DAY = dt.date(2026, 11, 26)
DE = Seller("DE", (Reg("DE"),))
DE_OSS = Seller("DE", (Reg("DE"), Reg("DE", scheme="oss_union")))
GLOBAL = Seller(
    "US",
    (
        Reg("US", "CA"),
        Reg("DE", scheme="oss_union"),
        Reg("GB"),
        Reg("CH"),
        Reg("AU"),
        Reg("JP"),
        Reg("CA"),
        Reg("CA", "QC"),
    ),
)

CASES = [
    # (name, seller, buyer, kind, percentage, tax_exempt)
    ("DE->FR B2B with VAT ID", DE, Buyer("FR", business=True, tax_id="FR40303265045", tax_id_type="eu_vat"),
     "reverse_charge", "0", "reverse"),
    ("DE->FR B2C with OSS", DE_OSS, Buyer("FR"), "taxed", "20", "none"),
    ("DE->FR B2C without OSS: home rate", DE, Buyer("FR"), "taxed", "19", "none"),
    ("DE->FR business without VAT ID is taxed", DE_OSS, Buyer("FR", business=True), "taxed", "20", "none"),
    ("DE->DE B2B is domestic VAT", DE, Buyer("DE", business=True, tax_id="DE123456788", tax_id_type="eu_vat"),
     "taxed", "19", "none"),
    ("DE->US", DE, Buyer("US", "NY"), "not_collected", "0", "none"),
    ("US-CA registered", GLOBAL, Buyer("US", "CA", business=True), "taxed", "7.25", "none"),
    ("US-TX not registered", GLOBAL, Buyer("US", "TX"), "not_collected", "0", "none"),
    ("GB consumer", GLOBAL, Buyer("GB"), "taxed", "20", "none"),
    ("GB business with VAT number: reverse charge", GLOBAL,
     Buyer("GB", business=True, tax_id="GB980780684", tax_id_type="gb_vat"), "reverse_charge", "0", "reverse"),
    ("CH consumer", GLOBAL, Buyer("CH"), "taxed", "8.1", "none"),
    ("AU consumer", GLOBAL, Buyer("AU"), "taxed", "10", "none"),
    ("JP consumer", GLOBAL, Buyer("JP"), "taxed", "10", "none"),
    ("NZ not registered", GLOBAL, Buyer("NZ"), "not_collected", "0", "none"),
    ("CA-ON HST", GLOBAL, Buyer("CA", "ON"), "taxed", "13", "none"),
    ("CA-QC GST + QST", GLOBAL, Buyer("CA", "QC"), "taxed", "14.975", "none"),
    ("CA-BC GST only (not registered for PST)", GLOBAL, Buyer("CA", "BC"), "taxed", "5", "none"),
    ("exempt with a valid certificate", GLOBAL, Buyer("US", "CA", business=True, exempt_until=DAY),
     "exempt", "0", "exempt"),
    ("expired certificate is taxed", GLOBAL,
     Buyer("US", "CA", business=True, exempt_until=DAY - dt.timedelta(days=1)), "taxed", "7.25", "none"),
    ("EU consumer, seller not in the EU", Seller("US", (Reg("US", "CA"),)), Buyer("FR"), "not_collected", "0", "none"),
    ("OSS seller established in the US: FR B2B reverse charge", GLOBAL,
     Buyer("FR", business=True, tax_id="FR40303265045", tax_id_type="eu_vat"), "reverse_charge", "0", "reverse"),
    ("reverse charge set by hand", GLOBAL, Buyer("NO", forced_reverse_charge=True), "reverse_charge", "0", "reverse"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "seller", "buyer", "kind", "percentage", "tax_exempt"), CASES, ids=[c[0] for c in CASES]
)
def test_treatment_table(name, seller, buyer, kind, percentage, tax_exempt):
    result = treat(seller, buyer, DAY)
    assert (result.kind, result.percentage, result.stripe_tax_exempt) == (kind, Decimal(percentage), tax_exempt)
    assert result.reason
    if kind == "reverse_charge":
        assert "Reverse charge" in result.note


def test_registration_outside_its_period_does_not_count():
    seller = Seller("US", (Reg("US", "CA", effective_from=dt.date(2027, 1, 1)),))
    assert treat(seller, Buyer("US", "CA"), DAY).kind == "not_collected"
    ended = Seller("US", (Reg("US", "CA", effective_to=DAY),))
    assert treat(ended, Buyer("US", "CA"), DAY).kind == "not_collected"


def test_expired_exemption_is_said():
    result = treat(GLOBAL, Buyer("GB", exempt_until=dt.date(2026, 1, 1)), DAY)
    assert result.kind == "taxed" and "expired" in result.notes[0]


@pytest.mark.parametrize(
    ("amount", "percentage", "currency", "inclusive", "tax"),
    [
        (1050, "10", "jpy", False, 105),  # ¥1,050 at 10%: ¥105
        (1055, "10", "jpy", False, 106),  # ¥105.5 rounds half up to ¥106: JPY has no minor unit
        (1055, "10", "jpy", True, 96),  # ¥1,055 including 10%: 1055 - 959.09 = 95.9 -> ¥96
        (2700, "8.1", "kwd", False, 219),  # KWD 2.700 at 8.1% = 0.2187 -> KWD 0.219 (three decimals)
        (2705, "5", "kwd", False, 135),  # 0.13525 -> 0.135
        (2710, "5", "kwd", False, 136),  # 0.1355 -> 0.136 (half up)
        (875, "19", "eur", False, 166),  # €8.75 at 19% = 1.6625 -> €1.66
        (1190, "19", "eur", True, 190),  # €11.90 including 19%: €1.90
        (999, "7.25", "usd", False, 72),  # 72.4275 -> 72
        (1000, "20", "gbp", True, 167),  # 1000 - 833.33 = 166.67 -> 167
        (-875, "19", "eur", False, -166),  # a credit line: the same, negative
        (0, "19", "eur", False, 0),
    ],
)
def test_tax_amount_rounds_to_the_currency_unit(amount, percentage, currency, inclusive, tax):
    assert tax_amount(amount, Decimal(percentage), currency, inclusive=inclusive) == tax


def test_inclusive_split_between_two_rates_adds_up():
    components = treat(GLOBAL, Buyer("CA", "QC"), DAY).components
    parts = line_taxes(11497, components, "cad", inclusive=True)
    total = tax_amount(11497, Decimal("14.975"), "cad", inclusive=True)
    assert sum(amount for _, amount in parts) == total == 1497
    assert [amount for _, amount in line_taxes(10000, components, "cad")] == [500, 998]  # 997.5 -> 998
