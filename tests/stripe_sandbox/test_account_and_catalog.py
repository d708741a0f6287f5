"""The account and the catalog: products and prices."""

import json
import urllib.request

from tests.stripe_sandbox.conftest import catalog


def test_account_and_pinned_version(sb):
    account = sb.v1.accounts.retrieve_current()
    assert account.id.startswith("acct_") and account.object == "account"
    health = json.loads(urllib.request.urlopen(f"{sb.url}/_sandbox/health").read())
    assert health["api_version"] == "2026-08-26.dahlia"


def test_prices_in_zero_and_three_decimal_currencies(sb):
    jpy = catalog(sb, "jpy", 1050)
    kwd = catalog(sb, "kwd", 2700, "year")
    assert (jpy.unit_amount, jpy.currency) == (1050, "jpy")
    assert kwd.recurring.interval == "year" and kwd.unit_amount == 2700
    found = sb.v1.prices.list({"lookup_keys": ["pro_year_kwd"]})
    assert [p.id for p in found.data] == [kwd.id]
