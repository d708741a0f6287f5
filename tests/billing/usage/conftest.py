"""Fixtures for usage billing: meters, an API key of Acme, a JSON poster."""

from __future__ import annotations

import json

import pytest

from billing.usage import ratelimit
from billing.usage.keys import api_key_create
from billing.usage.models import Aggregation, Meter


@pytest.fixture(autouse=True)
def _fresh_rate_buckets():
    ratelimit.reset()
    yield
    ratelimit.reset()


@pytest.fixture
def meters(db):
    return type(
        "Meters",
        (),
        {
            "calls": Meter.objects.create(key="api_calls", name="API calls", unit="call", aggregation=Aggregation.sum),
            "runs": Meter.objects.create(key="workflow_runs", name="Workflow runs", aggregation=Aggregation.count),
            "storage": Meter.objects.create(key="storage_gb", name="Storage", unit="GB", aggregation=Aggregation.max),
            "seats": Meter.objects.create(
                key="active_seats", name="Active seats", unit="seat", aggregation=Aggregation.active_seats
            ),
        },
    )


@pytest.fixture
def acme_key(people):
    _, raw = api_key_create(organisation=people.acme, name="product", actor=people.owner)
    return raw


@pytest.fixture
def post_events(client):
    def post(key: str | None, events=None, *, body: bytes | None = None, content_type="application/json", **extra):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
        data = body if body is not None else json.dumps({"events": events})
        return client.post("/api/usage/events", data=data, content_type=content_type, **headers, **extra)

    return post
