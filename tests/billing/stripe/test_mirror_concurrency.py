"""10,000 events, shuffled, 10% delivered twice, applied by 4 concurrent worker processes."""

import datetime as dt
import os
import random
import signal

import pytest
from django.db import connection
from djstripe.models import Customer, Invoice, Subscription, SubscriptionItem

from billing.stripe import mirror
from billing.stripe.models import EventStatus, StripeEvent
from billing.stripe.tasks import drain_events, process_event, requeue_stale_received
from tests import stripe_payloads as sp
from tests.conftest import start_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent workers need PostgreSQL (SQLite serialises every writer); set DATABASE_URL")


def assert_mirror_equals(expected: dict[str, dict | None]) -> None:
    models = {"cus": Customer, "sub": Subscription, "in": Invoice}
    rows = {}
    for model in models.values():
        rows.update(dict(model.objects.values_list("id", "stripe_data")))
    wrong = []
    for object_id, state in expected.items():
        if state is None:
            if object_id in rows:
                wrong.append((object_id, "should be deleted"))
        elif rows.get(object_id) != state:
            wrong.append((object_id, "differs" if object_id in rows else "missing"))
    assert not wrong, f"{len(wrong)} objects wrong, e.g. {wrong[:5]}"
    for object_id, state in expected.items():
        if state and state["object"] == "subscription":
            items = set(SubscriptionItem.objects.filter(subscription_id=object_id).values_list("id", flat=True))
            assert items == {i["id"] for i in state["items"]["data"]}, object_id


def wait_for_all(count: int, timeout: float = 240) -> None:
    def finished():
        return StripeEvent.objects.filter(status__in=[EventStatus.applied, EventStatus.ignored]).count() >= count

    wait_until(finished, timeout, interval=0.5, message=f"{count} events applied")


def test_ten_thousand_shuffled_events_with_duplicates_by_four_workers(settings, tmp_path):
    events, expected = sp.event_stream(10_000, seed=11)
    rng = random.Random(5)
    rng.shuffle(events)
    duplicates = [e["id"] for e in rng.sample(events, len(events) // 10)]
    sp.store_events(events)
    with start_worker(settings, tmp_path / "worker.log", concurrency=4) as worker:
        for _ in range(4):
            drain_events.delay()  # four drains share the queue (SKIP LOCKED)...
        for event_id in duplicates:
            process_event.delay(event_id)  # ...while a tenth of the events are delivered a second time
        wait_for_all(len(events))
        log = worker.log.read_text()
    assert "deadlock" not in log.lower()
    assert not StripeEvent.objects.filter(status__in=[EventStatus.failed, EventStatus.dead]).exists()
    assert_mirror_equals(expected)


def test_a_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(settings, tmp_path):
    events, expected = sp.event_stream(2_000, seed=3)
    sp.store_events(events)
    with start_worker(settings, tmp_path / "first.log", concurrency=2) as worker:
        drain_events.delay(batch=50)
        drain_events.delay(batch=50)
        wait_until(
            lambda: StripeEvent.objects.filter(status=EventStatus.applied).count() >= 300, 60, message="some progress"
        )
        os.killpg(worker.proc.pid, signal.SIGKILL)  # no warm shutdown: tasks in flight are cut off
        worker.proc.wait()
    half_done = StripeEvent.objects.filter(status=EventStatus.applied).count()
    assert half_done < len(events)
    with start_worker(settings, tmp_path / "second.log", concurrency=2):
        # The dead worker's batches stay "processing" until their lease runs out; let it run out
        # now, and the beat sweep hands them (and all still "received") to the new worker.
        StripeEvent.objects.filter(status=EventStatus.processing).update(
            next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        )
        requeue_stale_received.apply(kwargs={"older_than_seconds": 0})
        wait_for_all(len(events))
    assert_mirror_equals(expected)
    # Applied once: every event reached its final state; a re-run changes no row.
    before = dict(Customer.objects.values_list("id", "stripe_data"))
    for e in events[:200]:
        mirror.apply_event(e)
    assert dict(Customer.objects.values_list("id", "stripe_data")) == before
