"""Reporting to the sandbox's meters: totals match event_summaries; a crash and a re-run never double-bill."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from billing.stripe.gateway import StripeGateway
from billing.usage import ingest, periods, reporting
from billing.usage.generator import stream
from billing.usage.models import MeterReport, ReportStatus, UsagePeriod
from tests.billing.usage.stripe_setup import billed_by_usage, stripe_meters, summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def usage_acme(sandbox, people):
    meters = stripe_meters(people.admin)
    started = int((timezone.now() - dt.timedelta(days=2)).timestamp())  # the period began two days ago
    subscription, clock = billed_by_usage(people.acme, [meters["calls"], meters["storage"]], frozen_time=started)
    return type("UsageAcme", (), {"meters": meters, "subscription": subscription, "org": people.acme})


def _send_stream(org, meters, hours=30, seed=1, prefix="s"):
    now = timezone.now()
    events = list(
        stream(
            rng=random.Random(seed), prefix=prefix, meters=meters, start=now - dt.timedelta(hours=hours),
            end=now, per_hour=30, duplicate_rate=0.1,
        )
    )  # fmt: skip
    for i in range(0, len(events), 400):
        ingest.ingest(org, events[i : i + 400])
    return events


def _check_stripe_matches(usage_acme):
    for period in UsagePeriod.objects.filter(organisation=usage_acme.org).select_related("meter"):
        ours = periods.value(period, now=timezone.now())
        assert period.reported_value == ours
        assert summary(period.meter, period.customer_id, period.start, period.end) == ours, period.meter.key


def test_totals_reach_stripe_once_and_match_event_summaries(usage_acme):
    calls, storage = usage_acme.meters["calls"], usage_acme.meters["storage"]
    events = _send_stream(usage_acme.org, [calls, storage])
    done = reporting.usage_report()
    assert done["periods"] == 2 and done["sent"] == 2
    _check_stripe_matches(usage_acme)
    assert reporting.usage_report()["prepared"] == 0  # nothing new: nothing sent
    _send_stream(usage_acme.org, [calls, storage], hours=2, seed=2, prefix="t")
    ingest.ingest(usage_acme.org, events[:300])  # a replay counts nothing
    reporting.usage_report()
    _check_stripe_matches(usage_acme)
    period = UsagePeriod.objects.get(meter=calls)
    assert [r.status for r in period.reports.all()] == ["sent", "sent"]
    assert reporting.reconcile()["mismatched"] == 0


def test_a_crash_after_stripe_answered_and_a_rerun_count_once(usage_acme, monkeypatch):
    _send_stream(usage_acme.org, [usage_acme.meters["calls"]])
    real_post = StripeGateway.post

    def post_then_die(self, path, params=None, *, idempotency_key):
        answer = real_post(self, path, params, idempotency_key=idempotency_key)
        if path == "/v1/billing/meter_events":
            raise KeyboardInterrupt("the worker died before recording the answer")
        return answer

    monkeypatch.setattr(StripeGateway, "post", post_then_die)
    with pytest.raises(KeyboardInterrupt):
        reporting.usage_report()
    monkeypatch.setattr(StripeGateway, "post", real_post)
    assert MeterReport.objects.get().status == ReportStatus.pending
    reporting.usage_report()  # same identifier and idempotency key: Stripe replays its answer
    assert MeterReport.objects.get().status == ReportStatus.sent
    _check_stripe_matches(usage_acme)


def test_a_rerun_after_the_idempotency_key_expired_is_refused_as_a_duplicate_and_counts_once(usage_acme, monkeypatch):
    _send_stream(usage_acme.org, [usage_acme.meters["calls"]])
    real_send = reporting.report_send
    monkeypatch.setattr(
        reporting, "report_send", lambda report: (real_send(report), (_ for _ in ()).throw(KeyboardInterrupt()))[0]
    )
    with pytest.raises(KeyboardInterrupt):
        reporting.usage_report()
    MeterReport.objects.update(status=ReportStatus.pending, sent_at=None)  # as if the worker died before saving
    monkeypatch.setattr(reporting, "report_send", real_send)
    monkeypatch.setattr(reporting, "key_for", lambda *parts: f"expired-{random.random()}")
    reporting.usage_report()  # a new key: Stripe refuses the identifier it has, which means delivered
    assert MeterReport.objects.get().status == ReportStatus.sent
    _check_stripe_matches(usage_acme)


def test_stripe_unavailable_leaves_reports_pending_for_the_next_run(usage_acme, sandbox_faults, settings):
    settings.STRIPE_MAX_RETRIES = 0
    _send_stream(usage_acme.org, [usage_acme.meters["calls"]])
    sandbox_faults(error_rate=1.0)
    reporting.usage_report()
    assert MeterReport.objects.get().status == ReportStatus.pending
    sandbox_faults(error_rate=0)
    reporting.usage_report()
    _check_stripe_matches(usage_acme)


def test_corrections_before_invoicing_reach_the_meter_also_downwards(usage_acme, people):
    from billing.usage.services import correction_create

    _send_stream(usage_acme.org, [usage_acme.meters["calls"]])
    reporting.usage_report()
    period = UsagePeriod.objects.get(meter=usage_acme.meters["calls"])
    value = periods.value(period, now=timezone.now())
    correction_create(period=period, quantity=50, reason="Missed batch from the EU cluster", actor=people.admin)
    reporting.usage_report()
    assert summary(period.meter, period.customer_id, period.start, period.end) == value + 50
    correction_create(period=period, quantity=-30, reason="Test traffic counted by mistake", actor=people.admin)
    reporting.usage_report()  # cancels what was sent (meter event adjustments), sends the new total once
    assert summary(period.meter, period.customer_id, period.start, period.end) == value + 20
    statuses = list(period.reports.order_by("sequence").values_list("status", flat=True))
    assert statuses == ["cancelled", "cancelled", "sent"]
    assert all(r.cancelled_at for r in period.reports.filter(status="cancelled"))
    assert set(period.corrections.values_list("status", flat=True)) == {"sent"}


@pytest.mark.slow
def test_a_worker_killed_mid_report_and_a_rerun_never_double_count(
    transactional_db, sandbox, sandbox_faults, people, settings
):
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT, database_url_for_subprocess, wait_until

    meters = stripe_meters(people.admin)
    started = int((timezone.now() - dt.timedelta(days=2)).timestamp())
    for org in (people.acme, people.globex):
        billed_by_usage(org, [meters["calls"], meters["storage"]], frozen_time=started)
        _send_stream(org, [meters["calls"], meters["storage"]], prefix=org.slug)
    sandbox_faults(latency_ms=400)
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "PORTAL_VAR_DIR": str(settings.VAR_DIR),
        "STRIPE_API_BASE": settings.STRIPE_API_BASE,
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "usage_report"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: MeterReport.objects.filter(status="sent").exists(), 60, 0.05, "a first report sent")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert MeterReport.objects.filter(status="pending").exists()  # killed mid-report
    sandbox_faults(latency_ms=0)
    reporting.usage_report()
    reporting.usage_report()
    assert not MeterReport.objects.exclude(status="sent").exists()
    for period in UsagePeriod.objects.select_related("meter"):
        ours = periods.value(period, now=timezone.now())
        assert summary(period.meter, period.customer_id, period.start, period.end) == ours == period.reported_value


def test_beat_looks_only_at_periods_that_changed(usage_acme):
    _send_stream(usage_acme.org, [usage_acme.meters["calls"], usage_acme.meters["storage"]])
    assert reporting.usage_report()["periods"] == 2
    UsagePeriod.objects.update(last_reported_at=timezone.now() - dt.timedelta(minutes=5))
    from billing.usage.models import UsageDay

    UsageDay.objects.update(updated_at=timezone.now() - dt.timedelta(minutes=10))
    assert reporting.usage_report()["periods"] == 0  # nothing new since the last report
    recent = int(timezone.now().timestamp()) - 30
    ingest.ingest(
        usage_acme.org, [{"id": f"n-{n}", "meter": "api_calls", "value": 4, "timestamp": recent} for n in range(5)]
    )
    done = reporting.usage_report()
    assert done["periods"] == 1 and done["sent"] == 1
    _check_stripe_matches(usage_acme)
