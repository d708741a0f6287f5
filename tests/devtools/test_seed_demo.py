import datetime as dt
import time

import pytest
from django.core.management import call_command

from accounts.models import AuditLog, Membership, Organisation, StaffProfile
from billing.currencies.countries import currency_for_country
from billing.currencies.models import Launch
from billing.stripe.gateway import gateway
from devtools import demo_currencies, demo_usage

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_seed_builds_a_year_of_a_believable_company_through_the_services(sandbox, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", verbosity=0)  # the whole demo: 64 organisations, every combination
    extra = demo_currencies.EXTRA_ORGANISATIONS  # Canadian sign-ups around the CAD launch
    assert Organisation.objects.count() == 64 + extra + demo_usage.ORGANISATIONS  # and the usage-billed teams
    assert len({o.country.code for o in Organisation.objects.all()}) == 16
    assert StaffProfile.objects.count() == 3 + demo_currencies.EXTRA_STAFF
    assert Membership.objects.count() == 64 + extra + demo_usage.MEMBERSHIPS
    client = gateway()
    prices = list(client.list_all("/v1/prices"))
    assert {p["currency"] for p in prices} >= {"usd", "eur", "gbp", "jpy", "krw", "kwd"}
    assert {p["recurring"]["interval"] for p in prices} == {"month", "year"}
    subs = list(client.list_all("/v1/subscriptions", status="all"))
    statuses = {s["status"] for s in subs}
    assert {"active", "trialing", "past_due", "canceled"} <= statuses, statuses
    assert any(s["cancel_at_period_end"] for s in subs)
    kinds = {
        pm["type"]
        for c in client.list_all("/v1/customers")
        for pm in client.list_all(f"/v1/customers/{c['id']}/payment_methods")
    }
    assert kinds >= {"card", "us_bank_account", "sepa_debit", "acss_debit"}
    # Currency launches: CAD for Canada live (pre-authorised debit on), SEK for Sweden awaiting approval.
    assert Launch.objects.get(currency="cad").status == "live"
    assert Launch.objects.get(currency="sek").status == "previewed"
    assert currency_for_country("CA") == "cad"
    live = Launch.objects.get(currency="cad").went_live_at
    for org in Organisation.objects.filter(country="CA"):  # existing organisations keep USD, new ones pay CAD
        own = client.list_all("/v1/subscriptions", customer=org.stripe_customer_id, status="all")
        billed = {s["currency"] for s in own}
        assert billed <= {"cad" if org.created_at >= live else "usd"}, org.name
    # History: a year of it, ending today, nothing in the future.
    invoices = list(client.list_all("/v1/invoices"))
    created = [i["created"] for i in invoices]
    now = time.time()
    assert max(created) <= now
    assert now - min(created) > 330 * 86400
    months = {dt.datetime.fromtimestamp(c, dt.UTC).strftime("%Y-%m") for c in created}
    assert len(months) >= 12
    # The services did the writes, and audited them.
    assert AuditLog.objects.filter(action="subscription.create").count() >= 60
    assert AuditLog.objects.filter(action="customer.create").count() == 64 + extra + demo_usage.ORGANISATIONS
    assert (tmp_path / "demo_logins.json").exists()
    # The self-serve stories (devtools/demo_selfserve.py).
    from djstripe.models import Mandate, TaxId

    from accounts.models import Invitation
    from billing.subscriptions.models import SubscriptionChange

    assert SubscriptionChange.objects.filter(status="scheduled").count() == 1  # a downgrade waits for renewal
    paid_by = {}
    for s in subs + list(client.list_all("/v1/subscriptions", status="all")):
        # a new subscription paid by ACH is `incomplete` while its first debit is processing
        if s["status"] in ("active", "incomplete") and s.get("default_payment_method"):
            paid_by.setdefault(s["customer"], set()).add(s["default_payment_method"])
    assert any(len(methods) == 2 for methods in paid_by.values())  # two subscriptions, two methods
    assert {m.stripe_data["payment_method_details"]["type"] for m in Mandate.objects.all()} >= {
        "sepa_debit",
        "bacs_debit",
    }
    assert TaxId.objects.count() == 2 and Invitation.objects.filter(role="billing_admin").count() == 1
    assert "downgrade scheduled" in (tmp_path / "demo_logins.json").read_text()
    # Taxes: registrations, customers exempt and reverse-charged, invoices that carry tax (issue 15).
    from taxes.models import CustomerTaxStatus, Registration

    assert Registration.objects.count() == 6
    exempt = set(CustomerTaxStatus.objects.values_list("stripe_tax_exempt", flat=True))
    assert exempt == {"none", "exempt", "reverse"}
    taxed = {i["customer_address"]["country"] for i in invoices if i["total_taxes"] and i["customer_address"]}
    assert {"DE", "FR", "GB", "AU", "JP"} <= taxed, taxed
    # A second run changes nothing: every call carries the same idempotency key.
    call_command("seed_demo", verbosity=0)
    assert len(list(client.list_all("/v1/subscriptions", status="all"))) == len(subs)


def test_seed_refuses_a_live_key(settings):
    from django.core.management import CommandError

    settings.STRIPE_USES_SANDBOX = False
    settings.STRIPE_SECRET_KEY = "sk_live_x"
    with pytest.raises(CommandError, match="test-mode"):
        call_command("seed_demo", verbosity=0)
