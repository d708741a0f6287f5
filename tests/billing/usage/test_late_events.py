"""An invoiced period: its usage flushed before the invoice, later events flagged late, finance
amends with a reason and the correction reaches Stripe as an invoice item."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from billing.stripe import mirror
from billing.stripe.gateway import gateway
from billing.usage import ingest, periods, reporting, services
from billing.usage.models import UsagePeriod
from billing.usage.receivers import flush_before_finalising
from tests.billing.usage.stripe_setup import billed_by_usage, stripe_meters

pytestmark = pytest.mark.django_db


def test_late_events_after_the_invoice_are_flagged_and_amended_by_an_invoice_item(
    sandbox, people, settings, django_capture_on_commit_callbacks
):
    meters = stripe_meters(people.admin)
    now = timezone.now().replace(microsecond=0)
    subscription, clock = billed_by_usage(
        people.acme, [meters["calls"]], frozen_time=int((now - dt.timedelta(days=3)).timestamp())
    )
    events = [
        {"id": f"c-{n}", "meter": "api_calls", "value": 10, "timestamp": int((now - dt.timedelta(hours=n)).timestamp())}
        for n in range(1, 40)
    ]
    ingest.ingest(people.acme, events)
    reporting.usage_report()
    period = UsagePeriod.objects.get()
    gateway().post(
        f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
        {"frozen_time": int(period.end.timestamp()) + 60},
        idempotency_key=f"test:advance:{clock['id']}",
    )
    latest = gateway().get(f"/v1/subscriptions/{subscription['id']}")["latest_invoice"]
    invoice = gateway().get(f"/v1/invoices/{latest}")
    assert invoice["lines"]["data"][0]["quantity"] == 390
    mirror.apply_object(invoice)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        flush_before_finalising(None, invoice)
    period.refresh_from_db()
    assert period.closed_at is not None and period.invoice_id == invoice["id"]

    late = ingest.ingest(
        people.acme, [{"id": "c-late", "meter": "api_calls", "value": 25, "timestamp": int(now.timestamp()) - 30}]
    )
    assert (late.accepted, late.late) == (1, 1)
    assert periods.totals(people.acme.pk, meters["calls"].pk, period.start, period.end).late == 1
    assert services.late_unbilled(period) == 25
    reporting.usage_report()
    assert period.reports.count() == 1  # a closed period is not reported again

    with pytest.raises(services.UsageError):
        services.correction_create(period=period, quantity=25, reason=" ", actor=people.admin)
    correction = services.correction_create(
        period=period, quantity=25, reason="Late events from the mobile client", actor=people.admin
    )
    assert (correction.route, correction.amount, correction.late_events) == ("invoice_item", 50, 25)
    services.correction_send(correction)
    services.correction_send(correction)  # twice: one invoice item
    correction.refresh_from_db()
    item = gateway().get(f"/v1/invoiceitems/{correction.stripe_id}")
    assert (item["amount"], item["currency"], item["invoice"]) == (50, "usd", None)
    assert "Late events from the mobile client" in item["description"]
    assert services.late_unbilled(period) == 0
    assert AuditLog.objects.filter(action="usage.correction.create", actor=people.admin).exists()

    from tests.pages import login

    client = __import__("django.test", fromlist=["Client"]).Client()
    login(client, people.admin)
    page = client.get(f"/usage/explain/{invoice['id']}/").content.decode()
    assert "Billed exactly what was reported" in page and "arrived after the invoice" in page
    assert "390" in page and "portal-usage-" in page
    login(client, people.owner)
    page = client.get(f"/billing/usage/explain/{invoice['id']}/").content.decode()
    assert "Billed exactly what was reported" in page and "portal-usage-" not in page
