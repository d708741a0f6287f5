"""POST /api/usage/events: idempotent batches, per-event errors, 401/413/415/429, never a 500."""

from __future__ import annotations

import json
import time

import pytest

from billing.usage.keys import api_key_create, api_key_revoke
from billing.usage.models import ApiKey, UsageDay, UsageEvent, UsageEventKey

pytestmark = pytest.mark.django_db


def event(n, meter="api_calls", value=5, ts=None, **extra):
    return {"id": f"evt-{n}", "meter": meter, "value": value, "timestamp": ts or int(time.time()) - 60, **extra}


def test_a_batch_is_stored_once_and_a_replay_changes_nothing(meters, acme_key, post_events, people):
    batch = [event(n) for n in range(10)]
    first = post_events(acme_key, batch)
    assert first.status_code == 200
    assert first.json() == {"received": 10, "accepted": 10, "duplicates": 0, "rejected": 0, "late": 0, "errors": []}
    again = post_events(acme_key, batch)
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 10
    assert UsageEvent.objects.count() == 10
    day = UsageDay.objects.get(organisation=people.acme, meter=meters.calls)
    assert (day.total, day.events, day.maximum) == (50, 10, 5)


def test_a_retry_with_a_new_timestamp_is_still_a_duplicate(meters, acme_key, post_events):
    post_events(acme_key, [event(1, ts=int(time.time()) - 100)])
    answer = post_events(acme_key, [event(1, ts=int(time.time()) - 10)]).json()
    assert answer["duplicates"] == 1
    assert UsageEvent.objects.count() == 1


def test_bad_events_get_errors_by_index_and_the_good_ones_are_stored(meters, acme_key, post_events, people):
    now = int(time.time())
    batch = [
        event(1),
        event(1),  # duplicate inside the batch
        event(2, meter="nope"),
        event(3, value=-1),
        event(4, value="12"),
        event(5, ts=now + 3600),
        event(6, ts=now - 40 * 86400),
        {**event(7), "organisation": "globex"},
        "not an object",
        {"meter": "api_calls", "value": 1},
        event(8, meter="active_seats", member="stranger@example.com"),
        {**event(9), "colour": "blue"},
        event(10, ts="yesterday"),
        event(11, value=True),
        event(12, properties=[1, 2]),
        event(13, value=2.0, properties={"endpoint": "/v1/x"}, ts="2026-01-01T00:00:00"),
        event(14, value=3.0, properties={"endpoint": "/v1/x"}),
    ]
    answer = post_events(acme_key, batch).json()
    codes = {e["index"]: e["code"] for e in answer["errors"]}
    assert codes == {
        1: "duplicate_in_batch",
        2: "unknown_meter",
        3: "negative_value",
        4: "invalid_value",
        5: "timestamp_in_future",
        6: "timestamp_too_old",
        7: "wrong_organisation",
        8: "invalid_event",
        9: "invalid_id",
        10: "unknown_member",
        11: "unknown_field",
        12: "invalid_timestamp",
        13: "invalid_value",
        14: "invalid_properties",
        15: "invalid_timestamp",
    }
    assert answer["accepted"] == 2
    assert set(UsageEvent.objects.values_list("event_id", flat=True)) == {"evt-1", "evt-14"}
    assert UsageEvent.objects.get(event_id="evt-14").properties == {"endpoint": "/v1/x"}


def test_active_seat_events_record_the_members_activity(meters, acme_key, post_events, people):
    ts = int(time.time()) - 60
    answer = post_events(
        acme_key, [event(1, meter="active_seats", member="MEMBER@example.com", ts=ts, value=None)]
    ).json()
    assert answer["accepted"] == 1, answer
    activity = people.member.memberships.get().seat_activity.get()
    assert int(activity.last_seen.timestamp()) == ts


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"HTTP_AUTHORIZATION": "Bearer usk_not-a-key"}, 401), ({"HTTP_AUTHORIZATION": "Basic x"}, 401)],
)
def test_no_key_or_a_wrong_key_is_refused(meters, client, headers, status):
    answer = client.post(
        "/api/usage/events", data=json.dumps({"events": [event(1)]}), content_type="application/json", **headers
    )
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == "unauthorized"
    assert UsageEventKey.objects.count() == 0


def test_a_revoked_key_is_refused(meters, acme_key, post_events, people):
    api_key_revoke(key=ApiKey.objects.get(), actor=people.owner)
    assert post_events(acme_key, [event(1)]).status_code == 401


def test_another_organisations_key_counts_for_that_organisation_only(meters, post_events, people):
    _, globex_key = api_key_create(organisation=people.globex, name="x", actor=people.outsider)
    answer = post_events(globex_key, [{**event(1), "organisation": "acme"}]).json()
    assert answer["errors"][0]["code"] == "wrong_organisation"
    post_events(globex_key, [event(2)])
    assert list(UsageEvent.objects.values_list("organisation__slug", flat=True)) == ["globex"]


def test_bodies_that_are_not_batches(meters, acme_key, post_events, settings):
    assert post_events(acme_key, body=b"{not json").json()["error"]["code"] == "invalid_json"
    assert post_events(acme_key, body=b"\xff\xfe").status_code == 400
    assert post_events(acme_key, body=b"[]").json()["error"]["code"] == "invalid_batch"
    assert post_events(acme_key, body=b'{"events": []}').status_code == 400
    assert post_events(acme_key, body=b"[" * 100_000).status_code == 400
    assert post_events(acme_key, [event(1)], content_type="text/plain").status_code == 415
    too_many = post_events(acme_key, [event(n) for n in range(1001)])
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "too_many_events"
    huge = post_events(acme_key, body=b'{"events": [' + b" " * (10 * 1024 * 1024) + b"]}")
    assert huge.status_code == 413
    assert UsageEventKey.objects.count() == 0


def test_get_is_not_allowed(client):
    answer = client.get("/api/usage/events")
    assert answer.status_code == 405 and answer["Allow"] == "POST"


def test_an_organisation_over_its_rate_gets_429_with_retry_after(meters, acme_key, post_events, settings):
    settings.USAGE_RATE_PER_ORG = 100
    settings.USAGE_RATE_BURST_SECONDS = 1
    assert post_events(acme_key, [event(n) for n in range(1000)]).status_code == 200  # the burst: one full batch
    limited = post_events(acme_key, [event(n) for n in range(1000, 1500)])
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    assert UsageEvent.objects.count() == 1000


def test_the_openapi_document_is_served(client):
    schema = client.get("/api/usage/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["schemas"]["Batch"]["properties"]["events"]["maxItems"] == 1000


def test_last_used_is_kept_without_a_write_per_batch(meters, acme_key, post_events, django_assert_max_num_queries):
    post_events(acme_key, [event(1)])
    from django.db import connection

    with django_assert_max_num_queries(6 if connection.vendor == "postgresql" else 16):
        post_events(acme_key, [event(n) for n in range(2, 500)])
