"""The ingestion API against its own OpenAPI document (schemathesis): no 500, answers as documented."""

from __future__ import annotations

import json
import time

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/usage/openapi.json", application)


@pytest.fixture
def live_key(meters, acme_key, settings):
    settings.USAGE_RATE_PER_ORG = 10_000_000
    # As Django's test client does: the WSGI app must not close the test's connection after a request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield acme_key
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_the_api_matches_its_schema_and_never_answers_500(case, live_key):
    for headers in ({"Authorization": f"Bearer {live_key}"}, {}):
        case.call_and_validate(
            headers=headers,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
        )


_values = st.one_of(st.integers(-5, 10**16), st.floats(allow_nan=True), st.text(max_size=5), st.none(), st.booleans())
_event = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(min_size=0, max_size=120), st.integers(), st.sampled_from(["a", "b", "c"])),
        "meter": st.sampled_from(["api_calls", "workflow_runs", "storage_gb", "active_seats", "nope", ""]),
    },
    optional={
        "value": _values,
        "timestamp": st.one_of(
            st.integers(-(10**12), 10**12), st.text(max_size=30), st.floats(), st.just(int(time.time()))
        ),
        "properties": st.one_of(
            st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=60), st.lists(st.integers())
        ),
        "member": st.one_of(st.text(max_size=10), st.just("member@example.com"), st.integers()),
        "organisation": st.sampled_from(["acme", "globex", 3]),
    },
)


@given(events=st.lists(_event, min_size=1, max_size=40))
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_any_batch_of_known_meters_is_accounted_for_event_by_event(events, live_key, client):
    answer = client.post(
        "/api/usage/events", data=json.dumps({"events": events}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {live_key}",
    )  # fmt: skip
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["accepted"] + body["duplicates"] + body["rejected"] == body["received"] == len(events)
