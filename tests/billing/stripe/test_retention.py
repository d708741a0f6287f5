import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.stripe import services
from billing.stripe.models import EventStatus, ObjectVersion, StripeEvent

pytestmark = pytest.mark.django_db


def event(n: int, status: str, days_old: int) -> StripeEvent:
    return StripeEvent.objects.create(
        id=f"evt_ret{n}",
        type="customer.updated",
        created=timezone.now() - dt.timedelta(days=days_old),
        object_type="customer",
        object_id=f"cus_{n}",
        payload={},
        status=status,
    )


def test_prune_keeps_recent_failed_and_dead_events():
    old_applied = [event(n, EventStatus.applied, 40) for n in range(5)]
    old_ignored = event(10, EventStatus.ignored, 40)
    keep = [
        event(20, EventStatus.applied, 5),
        event(21, EventStatus.failed, 90),
        event(22, EventStatus.dead, 90),
        event(23, EventStatus.received, 90),
    ]
    done = services.events_prune(keep_days=30, batch=2)
    assert done["events"] == len(old_applied) + 1
    assert set(StripeEvent.objects.values_list("pk", flat=True)) == {e.pk for e in keep}
    assert not StripeEvent.objects.filter(pk=old_ignored.pk).exists()


def test_prune_drops_old_tombstones_only():
    now = int(timezone.now().timestamp())
    ObjectVersion.objects.create(
        stripe_id="cus_gone", object_type="customer", event_created=now - 40 * 86400, deleted=True
    )
    ObjectVersion.objects.create(stripe_id="cus_new_gone", object_type="customer", event_created=now, deleted=True)
    ObjectVersion.objects.create(stripe_id="cus_live", object_type="customer", event_created=now - 400 * 86400)
    services.events_prune(keep_days=30)
    assert set(ObjectVersion.objects.values_list("pk", flat=True)) == {"cus_new_gone", "cus_live"}


def test_prune_work_is_bounded_per_run():
    for n in range(6):
        event(n, EventStatus.applied, 40)
    done = services.events_prune(keep_days=30, batch=2, max_batches=2)
    assert done["events"] == 4 and StripeEvent.objects.count() == 2


def test_the_command_prunes_by_hand(settings):
    event(1, EventStatus.applied, 40)
    event(2, EventStatus.applied, 2)
    call_command("stripe_prune_events", "--days", "30", verbosity=0)
    assert list(StripeEvent.objects.values_list("pk", flat=True)) == ["evt_ret2"]
