"""The demo's usage-billed teams: usage for several organisations, a fair-billing credit, late events
flagged, invoices whose usage lines the explainer answers, Stripe's meters agreeing."""

import pytest
from django.core.management import call_command
from djstripe.models import Invoice

from billing.usage import explain, reporting, selectors
from billing.usage.models import SeatCredit, UsageCorrection, UsageDay, UsagePeriod
from devtools import demo_usage
from devtools.demo import DemoBuilder
from tests.pages import login

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_the_usage_demo(sandbox, client, settings):
    builder = DemoBuilder(count=0, out=lambda text: None)
    builder.staff()
    demo_usage.build(builder)
    assert UsagePeriod.objects.values("organisation").distinct().count() == demo_usage.ORGANISATIONS
    assert UsagePeriod.objects.filter(closed_at__isnull=False).count() >= 2 * 3 * demo_usage.ORGANISATIONS
    assert SeatCredit.objects.filter(status="sent").count() >= 3
    assert UsageDay.objects.filter(late_events__gt=0).exists()
    assert UsageCorrection.objects.filter(route="invoice_item", status="sent").count() == 1
    late = selectors.late_periods()
    assert any(row["unbilled"] for row in late)  # one team's late events still wait for finance
    assert selectors.anomalies(now=builder_now(builder))
    assert reporting.reconcile()["mismatched"] == 0
    closed = UsagePeriod.objects.filter(closed_at__isnull=False).exclude(invoice_id="").first()
    from billing.stripe import mirror
    from billing.stripe.gateway import gateway

    mirror.apply_object(gateway().get(f"/v1/invoices/{closed.invoice_id}"))
    entries = explain.explain_invoice(Invoice.objects.get(id=closed.invoice_id))
    usage_lines = [e for e in entries if e.kind == "usage"]
    assert len(usage_lines) == 3 and all(e.quantity == e.period.reported_value for e in usage_lines)
    call_command("usage_generate", hours=0.5, per_hour=50, stdout=open("/dev/null", "w"))
    # A second run changes nothing.
    demo_usage.build(builder)
    assert UsagePeriod.objects.values("organisation").distinct().count() == demo_usage.ORGANISATIONS
    from django.contrib.auth import get_user_model

    login(client, get_user_model().objects.get(username="finance-analyst"))
    for path in ("/usage/", "/usage/periods/", f"/usage/explain/{closed.invoice_id}/"):
        assert client.get(path).status_code == 200
    owner = get_user_model().objects.get(username=demo_usage.logins()[0]["username"])
    login(client, owner)
    page = client.get("/billing/usage/").content.decode()
    assert "Active seats" in page and "Inactive from" in page


def builder_now(builder):
    import datetime as dt

    return dt.datetime.fromtimestamp(builder.end, dt.UTC)
