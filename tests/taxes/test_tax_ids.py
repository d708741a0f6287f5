"""Tax IDs of ten types: valid ones are made canonical, invalid ones say why, nothing reaches Stripe."""

import pytest

from taxes.tax_ids import TaxIdError, eu_vat_country, types_for_country, validate

VALID = [
    ("eu_vat", "de 123 456 788", "DE123456788"),
    ("eu_vat", "FR40303265045", "FR40303265045"),
    ("gb_vat", "GB980780684", "GB980780684"),
    ("ch_vat", "CHE-116.281.710 MWST", "CHE116281710MWST"),
    ("no_vat", "995525828", "NO995525828MVA"),
    ("au_abn", "51 824 753 556", "51824753556"),
    ("nz_gst", "49-091-850", "49091850"),
    ("ca_bn", "123456782", "123456782"),
    ("in_gst", "27AAPFU0939F1ZV", "27AAPFU0939F1ZV"),
    ("jp_cn", "5835678256246", "5835678256246"),
    ("kr_brn", "134-86-72683", "1348672683"),
    ("br_cnpj", "11.222.333/0001-81", "11222333000181"),
    ("us_ein", "04-2103594", "042103594"),
    ("sg_uen", "201912345K", "201912345K"),
]
INVALID = [
    ("eu_vat", "DE123456789", "check digit"),
    ("eu_vat", "US123456788", "EU VAT"),
    ("gb_vat", "GB98078068", "length"),
    ("ch_vat", "CHE-116.281.711 MWST", "check digit"),
    ("au_abn", "51824753557", "check digit"),
    ("ca_bn", "123456789", "check digit"),
    ("in_gst", "27AAPFU0939F1ZX", "not a valid"),
    ("jp_cn", "5835678256247", "check digit"),
    ("kr_brn", "134-86-726", "length"),
    ("br_cnpj", "11.222.333/0001-82", "check digit"),
    ("sg_uen", "hello", "expected"),
    ("eu_vat", "", "Enter"),
    ("nope", "123", "Choose"),
    ("eu_vat", "DE\x00123", "not a"),
]


@pytest.mark.parametrize(("code", "value", "canonical"), VALID)
def test_valid_ids_come_back_canonical(code, value, canonical):
    assert validate(code, value) == canonical


@pytest.mark.parametrize(("code", "value", "why"), INVALID)
def test_invalid_ids_say_why(code, value, why):
    with pytest.raises(TaxIdError, match=why):
        validate(code, value)


def test_types_by_country_and_vat_country():
    assert [t.code for t in types_for_country("de")] == ["eu_vat"]
    assert {t.code for t in types_for_country("BR")} == {"br_cnpj", "br_cpf"}
    assert eu_vat_country("EL123456789") == "GR" and eu_vat_country("GB980780684") is None
