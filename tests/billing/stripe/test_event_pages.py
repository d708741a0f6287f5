import datetime as dt

import pytest
from django.urls import reverse

from billing.stripe import processing
from billing.stripe.models import EventStatus, StripeEvent
from tests import stripe_payloads as sp
from tests.pages import login

pytestmark = pytest.mark.django_db


def stored(evt: dict, status: str = EventStatus.applied, error: str = "") -> StripeEvent:
    obj = evt["data"]["object"]
    return StripeEvent.objects.create(
        id=evt["id"],
        type=evt["type"],
        api_version=evt["api_version"],
        created=dt.datetime.fromtimestamp(evt["created"], dt.UTC),
        object_type=obj["object"],
        object_id=obj["id"],
        payload=evt,
        status=status,
        last_error=error,
    )


@pytest.mark.parametrize(("who", "status"), [(None, 302), ("owner", 403), ("support", 200), ("admin", 200)])
def test_event_list_access(client, people, who, status):
    login(client, getattr(people, who) if who else None)
    assert client.get(reverse("stripe_events:list")).status_code == status


def test_filters_by_type_status_object_and_date(client, people):
    stored(sp.event(sp.customer("cus_f1"), "customer.created", created=1_760_000_000))
    stored(
        sp.event(sp.invoice("in_f1"), "invoice.paid", created=1_760_100_000), status=EventStatus.failed, error="boom"
    )
    login(client, people.analyst)
    url = reverse("stripe_events:list")
    assert b"in_f1" in client.get(url, {"type": "invoice."}).content
    assert b"cus_f1" not in client.get(url, {"type": "invoice."}).content
    assert b"cus_f1" not in client.get(url, {"status": "failed"}).content
    assert b"in_f1" in client.get(url, {"object": "in_f1"}).content
    day = dt.datetime.fromtimestamp(1_760_000_000, dt.UTC).date().isoformat()
    assert b"cus_f1" in client.get(url, {"date": day}).content
    assert b'in_f1"' not in client.get(url, {"date": day}).content
    bad = client.get(url, {"date": "yesterday"})
    assert bad.status_code == 200 and b"is not a date" in bad.content


def test_event_detail_shows_the_payload(client, people):
    evt = stored(sp.event(sp.customer("cus_d1", email="shown@x.example"), "customer.created"))
    login(client, people.support)
    page = client.get(reverse("stripe_events:detail", args=[evt.pk]))
    assert b"shown@x.example" in page.content
    assert client.get(reverse("stripe_events:detail", args=["evt_nope"])).status_code == 404


def test_only_finance_admins_replay(client, people, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    evt = stored(sp.event(sp.customer("cus_r1"), "customer.created"), status=EventStatus.dead, error="x")
    login(client, people.analyst)
    assert client.post(reverse("stripe_events:replay"), {"event_id": evt.pk}).status_code == 403
    login(client, people.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("stripe_events:replay"), {})
    assert response.status_code == 302
    assert StripeEvent.objects.get(pk=evt.pk).status == EventStatus.applied
    from accounts.models import AuditLog

    assert AuditLog.objects.filter(action="stripe_event.replay", actor=people.admin).exists()


def test_failures_are_recorded_retried_with_backoff_then_dead_lettered(monkeypatch):
    evt = stored(sp.event(sp.customer("cus_x"), "customer.created"), status=EventStatus.received)

    def explode(payload, writer=None):
        raise ValueError("mirror unavailable")

    monkeypatch.setattr("billing.stripe.mirror.apply_event", explode)
    delays = []
    for _ in range(processing.MAX_ATTEMPTS):
        StripeEvent.objects.filter(pk=evt.pk).update(status=EventStatus.received)
        status = processing.event_process(event_id=evt.pk)
        event = StripeEvent.objects.get(pk=evt.pk)
        if event.next_attempt_at:
            delays.append(round((event.next_attempt_at - event.processed_at).total_seconds()))
    assert status == EventStatus.dead
    assert event.attempts == processing.MAX_ATTEMPTS and "mirror unavailable" in event.last_error
    assert delays == sorted(delays) and delays[0] == 30


def test_replay_command(capsys):
    evt = stored(sp.event(sp.customer("cus_cmd"), "customer.created"), status=EventStatus.failed)
    from django.core.management import call_command

    call_command("stripe_replay", evt.pk, "--now")
    assert StripeEvent.objects.get(pk=evt.pk).status == EventStatus.applied
    assert "applied" in capsys.readouterr().out


def test_finance_pages_say_when_the_mirror_is_catching_up(client, people):
    from django.core.cache import cache
    from django.utils import timezone

    cache.delete("stripe:event_backlog")
    login(client, people.analyst)
    assert b"Catching up with Stripe" not in client.get(reverse("customers:list")).content
    evt = stored(sp.event(sp.customer("cus_late"), "customer.created"), status=EventStatus.received)
    StripeEvent.objects.filter(pk=evt.pk).update(received_at=timezone.now() - dt.timedelta(minutes=2))
    cache.delete("stripe:event_backlog")
    page = client.get(reverse("customers:list")).content
    assert b"Catching up with Stripe: 1 event waiting" in page
    login(client, people.owner)  # customers are not told about the finance team's queue
    cache.delete("stripe:event_backlog")
    assert b"Catching up" not in client.get(reverse("selfserve:overview")).content


@pytest.mark.parametrize("odd_id", ["evt_x/../y", "evt_a/b", "evt_sp ace?#%", ""])
def test_any_stored_id_lists_and_opens(client, people, odd_id):
    # Rows the intake refuses today but once stored: the pages must still open for everyone.
    stored(sp.event(sp.customer("cus_odd/../?&x"), "customer.created", id=odd_id))
    login(client, people.support)
    page = client.get(reverse("stripe_events:list"))
    assert page.status_code == 200 and b"cus_odd/../?&amp;x" in page.content
    assert b'href="?object=cus_odd%2F..%2F%3F%26x"' in page.content
    if odd_id:
        detail = client.get(reverse("stripe_events:detail", args=[odd_id]))
        assert detail.status_code == 200 and b"cus_odd" in detail.content


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date": "9999-12-31"}, "between 1970-01-01 and 9999-12-30"),
        ({"date": "0001-01-01"}, "between 1970-01-01 and 9999-12-30"),
        ({"date": "2026-02-30"}, "is not a date"),
        ({"type": "invoice.\x00"}, "Null characters are not allowed"),
        ({"object": "in_\x00"}, "Null characters are not allowed"),
        ({"object": "x" * 3000}, "at most 255 characters"),
        ({"status": "exploded"}, "Select a valid choice"),
        ({"status": "failed", "page": "99999999999999999999"}, None),
        ({"page": "-1"}, None),
        ({"page": "1e9"}, None),
    ],
)
def test_any_filter_value_gives_a_page_never_a_500(client, people, params, message):
    stored(sp.event(sp.invoice("in_f2"), "invoice.paid"), status=EventStatus.failed)
    login(client, people.analyst)
    response = client.get(reverse("stripe_events:list"), params)
    assert response.status_code == 200
    if message:
        assert message in response.content.decode()
        assert b"in_f2" in response.content  # the bad filter is left out, not the events
    assert b"Server Error" not in response.content


def test_the_other_filters_still_apply_beside_a_bad_one(client, people):
    stored(sp.event(sp.customer("cus_f3"), "customer.created"))
    stored(sp.event(sp.invoice("in_f3"), "invoice.paid"))
    login(client, people.analyst)
    response = client.get(reverse("stripe_events:list"), {"type": "invoice.", "date": "9999-12-31"})
    assert b"in_f3" in response.content and b"cus_f3" not in response.content


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "/\\evil.example", "http:///x"]
)
def test_replay_only_returns_to_this_site_and_checks_before_replaying(client, people, settings, next_url):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    evt = stored(sp.event(sp.customer("cus_n1"), "customer.created"), status=EventStatus.dead, error="x")
    login(client, people.admin)
    response = client.post(reverse("stripe_events:replay"), {"event_id": evt.pk, "next": next_url})
    assert response.status_code == 400
    assert StripeEvent.objects.get(pk=evt.pk).status == EventStatus.dead  # nothing replayed
    from accounts.models import AuditLog

    assert not AuditLog.objects.filter(action="stripe_event.replay").exists()


def test_replay_returns_to_the_page_it_came_from(client, people, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    evt = stored(sp.event(sp.customer("cus_n2"), "customer.created"), status=EventStatus.dead, error="x")
    login(client, people.admin)
    here = reverse("stripe_events:detail", args=[evt.pk])
    response = client.post(reverse("stripe_events:replay"), {"event_id": evt.pk, "next": here})
    assert response.status_code == 302 and response.url == here


@pytest.mark.parametrize(
    ("page", "current"), [("stripe_events:list", "Stripe events"), ("stripe_events:drift", "Drift")]
)
def test_the_nav_marks_the_page_you_are_on(client, people, page, current):
    import re

    login(client, people.analyst)
    html = client.get(reverse(page)).content.decode()
    assert re.findall(r'aria-current="page">([^<]+)</a>', html) == [current]
