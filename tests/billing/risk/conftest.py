"""Organisations paying through the sandbox, for the risk flows."""

from __future__ import annotations

import itertools
import json
import urllib.request

import pytest

from accounts.models import Organisation
from billing.customers.services import customer_create
from billing.stripe.gateway import gateway
from tests.billing.risk.payloads import pull_events

_n = itertools.count(1)


def control(path: str, body: dict | None = None) -> dict:
    from django.conf import settings

    request = urllib.request.Request(
        f"{settings.STRIPE_API_BASE}{path}",
        method="POST",
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def paying(sandbox, db):
    """`paying(country="FR", token=..., amount=..., currency=...)` -> (organisation, charge id), events applied."""

    def make(*, country="DE", token="pm_card_visa", amount=5000, currency="usd", name=None):
        n = next(_n)
        org = Organisation.objects.create(
            name=name or f"Initech {n}",
            slug=f"initech-{n}",
            country=country,
            billing_email=f"billing@initech{n}.example",
        )
        customer = customer_create(organisation=org)
        client = gateway()
        intent = client.post(
            "/v1/payment_intents",
            {
                "amount": amount,
                "currency": currency,
                "customer": customer["id"],
                "payment_method": token,
                "confirm": "true",
                "off_session": "true",
            },
            idempotency_key=f"test:pi:{org.slug}",
        )
        pull_events()
        return org, intent["latest_charge"]

    return make
