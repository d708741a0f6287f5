import pytest

from billing.currencies.countries import currency_for_country, payment_methods_for
from billing.currencies.models import CountryCurrency

pytestmark = pytest.mark.django_db


def types(country, currency):
    return [m.type for m in payment_methods_for(country, currency)]


def test_methods_follow_country_and_currency():
    assert types("US", "usd") == ["card", "us_bank_account"]
    assert types("DE", "eur") == ["card", "sepa_debit"]
    assert types("GB", "gbp") == ["card", "bacs_debit"]
    assert types("DE", "usd") == ["card"]  # SEPA debits only take euros
    assert types("JP", "jpy") == ["card"]


def test_a_launched_currency_and_its_methods_win_over_the_defaults():
    assert currency_for_country("SE") == "eur" and currency_for_country("ZZ") == "usd"
    CountryCurrency.objects.create(country="SE", currency="sek", payment_methods=[])
    assert currency_for_country("se") == "sek"
