"""A real Celery worker killed with SIGKILL in the middle of a sweep of 1,000 invoices, then restarted:
each invoice is attempted exactly once for that step. The sandbox's charge list is the proof."""

import collections
import datetime as dt
import json
import os
import signal
import time
import urllib.request

import pytest
from django.utils import timezone
from djstripe.models import Customer, Invoice

from billing.dunning import engine
from billing.dunning.models import Attempt, AttemptStatus, Case, CaseStatus
from billing.dunning.policies import default_policy
from billing.stripe import mirror
from billing.stripe.gateway import gateway
from tests.conftest import start_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
COUNT = 1000


def fixtures(sandbox_url: str, count: int) -> dict:
    body = json.dumps({"count": count, "events": False, "auto_advance": False}).encode()
    request = urllib.request.Request(
        f"{sandbox_url}/_sandbox/fixtures/past_due_invoices",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def due_cases_for_every_invoice(made: dict) -> None:
    """Backfill the sandbox's invoices into the mirror and open a case for each, due now."""
    client = gateway()
    mirror.apply_page(list(client.list_all("/v1/customers")))
    mirror.apply_page(list(client.list_all("/v1/invoices", status="open")))
    assert Invoice.objects.count() == len(made["invoices"]) and Customer.objects.count() == len(made["customers"])
    policy = default_policy()
    opened = timezone.now() - dt.timedelta(days=2)
    Case.objects.bulk_create(
        [
            Case(
                invoice_id=invoice_id,
                customer_id=customer_id,
                policy=policy,
                currency="usd",
                amount_due=2500,
                opened_at=opened,
                next_attempt_at=opened + dt.timedelta(days=1),
                stripe_retries_off=True,
            )
            for invoice_id, customer_id in zip(made["invoices"], made["customers"], strict=True)
        ]
    )


def charges_per_customer() -> collections.Counter:
    return collections.Counter(charge["customer"] for charge in gateway().list_all("/v1/charges"))


def test_sigkill_mid_sweep_then_restart_attempts_each_invoice_exactly_once(sandbox, settings, tmp_path):
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("four workers killed mid-sweep need PostgreSQL and Redis; set DATABASE_URL and REDIS_URL")
    settings.DUNNING_ATTEMPT_LEASE_SECONDS = 3
    os.environ["DUNNING_ATTEMPT_LEASE_SECONDS"] = "3"  # the workers read it from the environment
    os.environ["EMAIL_URL"] = f"file://{tmp_path / 'mail'}"  # a thousand "retry failed" emails, in files
    try:
        made = fixtures(sandbox, COUNT)
        due_cases_for_every_invoice(made)
        before = charges_per_customer()
        assert set(before.values()) == {1}  # each invoice failed once (its first attempt)

        with start_worker(settings, tmp_path / "first.log", concurrency=4) as worker:
            assert engine.sweep() == COUNT  # 1,000 attempts written, one task each on the stripe queue
            wait_until(
                lambda: Attempt.objects.filter(status=AttemptStatus.failed).count() >= COUNT // 4,
                120,
                message="a quarter of the attempts made",
            )
            os.killpg(worker.proc.pid, signal.SIGKILL)  # the worker and its pool, mid-sweep
            worker.proc.wait()
        done_at_kill = Attempt.objects.exclude(status__in=[AttemptStatus.queued, AttemptStatus.sending]).count()
        assert done_at_kill < COUNT, "the kill came after the sweep had finished"

        time.sleep(settings.DUNNING_ATTEMPT_LEASE_SECONDS + 1)  # the dead worker's leases run out
        with start_worker(settings, tmp_path / "second.log", concurrency=4):
            engine.requeue_stale()  # what the beat sweep does every minute
            wait_until(
                lambda: (
                    not Attempt.objects.filter(status__in=[AttemptStatus.queued, AttemptStatus.sending]).exists()
                    or (engine.requeue_stale() and False)
                ),
                240,
                interval=2,
                message="every attempt made",
            )
    finally:
        os.environ.pop("DUNNING_ATTEMPT_LEASE_SECONDS", None)
        os.environ.pop("EMAIL_URL", None)

    assert Attempt.objects.count() == COUNT
    assert Attempt.objects.filter(status=AttemptStatus.failed, step=1).count() == COUNT
    after = charges_per_customer()
    assert set(after) == set(made["customers"])
    twice = [customer for customer, n in after.items() if n - before[customer] != 1]
    assert twice == [], f"{len(twice)} invoices were not charged exactly once for the step"
    assert Case.objects.filter(status=CaseStatus.scheduled, last_step_day=1).count() == COUNT
