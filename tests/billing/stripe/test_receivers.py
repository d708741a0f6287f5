import datetime as dt

import pytest

from accounts.models import AuditLog, Organisation
from billing.stripe import processing, receivers
from billing.stripe.models import EventStatus, StripeEvent
from tests import stripe_payloads as sp

pytestmark = pytest.mark.django_db


def stored(evt: dict) -> StripeEvent:
    obj = evt["data"]["object"]
    return StripeEvent.objects.create(
        id=evt["id"],
        type=evt["type"],
        api_version=evt["api_version"],
        created=dt.datetime.fromtimestamp(evt["created"], dt.UTC),
        object_type=obj["object"],
        object_id=obj["id"],
        payload=evt,
    )


@pytest.fixture
def registry(monkeypatch):
    fresh: dict = {}
    monkeypatch.setattr(receivers, "_registry", __import__("collections").defaultdict(list, fresh))
    return receivers


def test_a_receiver_runs_for_its_event_type_only_and_once(registry):
    seen = []

    @registry.stripe_receiver("invoice.payment_failed")
    def on_failed(event, obj):
        seen.append((event.pk, obj["id"]))

    failed = stored(sp.event(sp.invoice("in_r1"), "invoice.payment_failed", created=200))
    paid = stored(sp.event(sp.invoice("in_r2"), "invoice.paid", created=200))
    processing.events_process(event_ids=[failed.pk, paid.pk])
    processing.events_process(event_ids=[failed.pk])  # already applied: skipped, no second run
    assert seen == [(failed.pk, "in_r1")]


def test_a_superseded_event_still_reaches_receivers_after_the_mirror_kept_the_newer_state(registry):
    from djstripe.models import Customer

    seen = []

    @registry.stripe_receiver("customer.updated")
    def on_update(event, obj):
        seen.append((obj["email"], Customer.objects.get(id="cus_r").email))

    newer = stored(sp.event(sp.customer("cus_r", email="new@x.example"), "customer.updated", created=300))
    older = stored(sp.event(sp.customer("cus_r", email="old@x.example"), "customer.updated", created=100))
    processing.events_process(event_ids=[newer.pk, older.pk])
    assert seen == [("new@x.example", "new@x.example"), ("old@x.example", "new@x.example")]


def test_a_failing_receiver_fails_the_event_and_rolls_back_its_mirror_write(registry):
    from djstripe.models import Customer

    def explode(event, obj):
        raise RuntimeError("receiver broke")

    registry.stripe_receiver("customer.created")(explode)
    evt = stored(sp.event(sp.customer("cus_boom"), "customer.created", created=100))
    assert processing.event_process(event_id=evt.pk) == EventStatus.failed
    assert "receiver broke" in StripeEvent.objects.get(pk=evt.pk).last_error
    assert not Customer.objects.filter(id="cus_boom").exists()


def test_wildcard_receivers_see_every_applied_event(registry):
    seen = []
    registry.stripe_receiver("*")(lambda event, obj: seen.append(event.type))
    a = stored(sp.event(sp.customer("cus_w"), "customer.created", created=100))
    processing.events_process(event_ids=[a.pk])
    assert seen == ["customer.created"]


def test_registering_needs_an_event_type():
    with pytest.raises(ValueError):
        receivers.stripe_receiver()


# --- the customers app's receivers -----------------------------------------------------------
def test_customer_created_links_its_organisation_by_metadata(people):
    org = Organisation.objects.create(name="Initech", slug="initech", country="US", billing_email="b@i.example")
    evt = stored(
        sp.event(sp.customer("cus_initech", metadata={"organisation_id": str(org.pk)}), "customer.created", created=50)
    )
    processing.event_process(event_id=evt.pk)
    org.refresh_from_db()
    assert org.stripe_customer_id == "cus_initech"
    entry = AuditLog.objects.get(action="organisation.link_customer")
    assert entry.object_id == str(org.pk) and entry.data["event_id"] == evt.pk


def test_a_linked_organisation_keeps_its_customer(people):
    evt = stored(
        sp.event(sp.customer("cus_other", metadata={"organisation_id": str(people.acme.pk)}), "customer.created")
    )
    processing.event_process(event_id=evt.pk)
    people.acme.refresh_from_db()
    assert people.acme.stripe_customer_id == "cus_acme"
    assert not AuditLog.objects.filter(action="organisation.link_customer").exists()


def test_customer_deleted_unlinks_its_organisation(people):
    created = stored(sp.event(sp.customer("cus_acme"), "customer.created", created=100))
    deleted = stored(sp.event({**sp.customer("cus_acme"), "deleted": True}, "customer.deleted", created=200))
    processing.events_process(event_ids=[created.pk, deleted.pk])
    people.acme.refresh_from_db()
    assert people.acme.stripe_customer_id is None
    assert AuditLog.objects.filter(action="organisation.unlink_customer", organisation=people.acme).exists()
