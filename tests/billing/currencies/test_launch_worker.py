"""The launch job on a real Celery worker: SIGKILLed halfway and started again, nothing twice."""

from __future__ import annotations

import datetime as dt
import os
import signal

import pytest
from django.utils import timezone

from billing.currencies import jobs, launches
from billing.currencies.models import CountryCurrency, LaunchRow, LaunchStatus, RowState
from billing.stripe.gateway import gateway
from tests.billing.currencies.conftest import add_rates, build_catalog
from tests.conftest import start_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def created(launch) -> int:
    return LaunchRow.objects.filter(launch=launch, state=RowState.created).count()


def test_a_worker_killed_halfway_and_restarted_creates_every_price_exactly_once(
    sandbox, sandbox_faults, admins, settings, tmp_path, monkeypatch
):
    monkeypatch.setenv("CURRENCY_LAUNCH_CHUNK_SIZE", "5")
    add_rates()
    CountryCurrency.objects.create(country="JP", currency="usd")
    build_catalog(extra_products=20)  # 22 products, 44 USD prices
    launch = launches.launch_create(currency="jpy", countries=["JP"], actor=admins.admin, charm_ending="0")
    launches.launch_preview(launch=launch, actor=admins.admin)
    launches.launch_approve(launch=launch, actor=admins.admin2)
    total = launch.rows.count()
    assert total == 44
    sandbox_faults(latency_ms=60)  # slow enough to stop it halfway

    with start_worker(settings, tmp_path / "first.log", concurrency=2) as worker:
        launches.launch_start(launch=launch, actor=admins.admin)  # committed: the tasks go to the broker
        wait_until(lambda: created(launch) >= 12, 60, message="a dozen prices")
        os.killpg(worker.proc.pid, signal.SIGKILL)  # no warm shutdown: chunks in flight are cut off
        worker.proc.wait()
    halfway = created(launch)
    assert halfway < total
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.running

    sandbox_faults(latency_ms=0)
    with start_worker(settings, tmp_path / "second.log", concurrency=2):
        # The dead worker's rows stay leased until their lease runs out; let it run out now, and the
        # beat's sweep hands the launch to the new worker (its tasks died in the old one).
        LaunchRow.objects.filter(launch=launch).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
        assert jobs.resume_stalled(stalled_after=dt.timedelta(0)) == [launch.pk]
        wait_until(lambda: launch.__class__.objects.get(pk=launch.pk).status == LaunchStatus.live, 90, message="live")

    prices = [p for p in gateway().list_all("/v1/prices") if p["currency"] == "jpy"]
    keys = [p["lookup_key"] for p in prices]
    assert len(prices) == total and len(set(keys)) == total  # the sandbox's price list: each exactly once
    rows = dict(LaunchRow.objects.filter(launch=launch).values_list("lookup_key", "stripe_price_id"))
    assert rows == {p["lookup_key"]: p["id"] for p in prices}
    assert CountryCurrency.objects.get(country="JP").currency == "jpy"
