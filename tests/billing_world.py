"""A small billing world on the sandbox, built through the portal's own services: a catalog offered to
self-serve in a currency, organisations with a Stripe customer on a test clock, a payment method
and a subscription. Shared by the subscription, self-serve and browser tests."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from accounts.models import MemberRole, Membership, Organisation
from billing.catalog.models import SelfServeOffer
from billing.catalog.services import price_create, product_create
from billing.customers.services import customer_create, customer_set_default_payment_method, setup_intent_create
from billing.stripe import processing
from billing.stripe.gateway import gateway
from billing.stripe.models import StripeEvent
from billing.subscriptions.services import subscription_create

DAY = 86400
# Per-seat monthly prices in minor units; annual is ten months. KWD has three decimals, JPY none.
MONTHLY = {"usd": {"pro": 875, "business": 1500}, "eur": {"pro": 800, "business": 1400},
           "jpy": {"pro": 1050, "business": 1800}, "kwd": {"pro": 2700, "business": 4600},
           "gbp": {"pro": 700, "business": 1250}}  # fmt: skip
COUNTRY = {"usd": "US", "eur": "DE", "jpy": "JP", "kwd": "KW", "gbp": "GB"}
_names = itertools.count(1)


@dataclass
class World:
    prices: dict  # (plan, interval) -> price id


def catalog(currency: str, *, max_quantity: int | None = 500) -> World:
    prices = {}
    for position, plan in enumerate(("pro", "business")):
        product = product_create(key=f"{plan}", name="Pro" if plan == "pro" else "Business+")
        for interval, months in (("month", 1), ("year", 10)):
            price = price_create(
                product_id=product["id"],
                currency=currency,
                unit_amount=MONTHLY[currency][plan] * months,
                interval=interval,
                lookup_key=f"{plan}_{interval}ly_{currency}",
                nickname=f"{'Pro' if plan == 'pro' else 'Business+'} {'monthly' if interval == 'month' else 'annual'}",
            )
            prices[(plan, interval)] = price["id"]
            SelfServeOffer.objects.update_or_create(
                price_id=price["id"],
                defaults={"position": position * 10 + (interval == "year"), "max_quantity": max_quantity},
            )
    return World(prices)


@dataclass
class Org:
    organisation: Organisation
    customer_id: str
    clock_id: str
    payment_method: str | None
    subscription_id: str | None = None
    owner: object = None


def organisation(
    currency: str,
    *,
    name: str | None = None,
    card: str = "pm_card_visa",
    start: int | None = None,
    clock: bool = True,
    owner_username: str | None = None,
) -> Org:
    n = next(_names)
    name = name or f"Org {n}"
    org = Organisation.objects.create(
        name=name, slug=f"org-{n}-{currency}", country=COUNTRY[currency], billing_email=f"billing{n}@example.com"
    )
    clock_id = ""
    if clock:
        frozen = start or int(dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC).timestamp())
        clock_id = gateway().post(
            "/v1/test_helpers/test_clocks", {"frozen_time": frozen}, idempotency_key=f"test:clock:{org.pk}:{n}"
        )["id"]
    customer = customer_create(
        organisation=org, address={"country": COUNTRY[currency], "line1": "1 Main St"}, test_clock=clock_id or None
    )
    method = None
    if card:
        setup = setup_intent_create(organisation=org, method_type="card", request_key=f"test-{n}")
        setup = gateway().post(
            f"/v1/setup_intents/{setup['id']}/confirm", {"payment_method": card}, idempotency_key=f"t:{setup['id']}"
        )
        method = setup["payment_method"]
        method = gateway().get(f"/v1/payment_methods/{method}")
        from billing.stripe import mirror

        mirror.apply_object(method)
        method = method["id"]
        customer_set_default_payment_method(organisation=org, payment_method_id=method, request_key="world")
    owner = None
    if owner_username:
        owner = get_user_model().objects.create_user(
            username=owner_username, email=f"{owner_username}@example.com", password="pw-for-tests-1"
        )
        Membership.objects.create(user=owner, organisation=org, role=MemberRole.owner)
    return Org(org, customer["id"], clock_id, method, owner=owner)


def subscribe(org: Org, price_id: str, quantity: int, **extra) -> str:
    subscription = subscription_create(
        organisation=org.organisation, price_id=price_id, quantity=quantity, request_key=f"sub-{next(_names)}", **extra
    )
    org.subscription_id = subscription["id"]
    return subscription["id"]


def advance(org: Org, seconds: int) -> int:
    clock = gateway().get(f"/v1/test_helpers/test_clocks/{org.clock_id}")
    target = clock["frozen_time"] + seconds
    gateway().post(
        f"/v1/test_helpers/test_clocks/{org.clock_id}/advance",
        {"frozen_time": target},
        idempotency_key=f"test:advance:{org.clock_id}:{target}",
    )
    return target


def apply_stripe_events() -> int:
    """Everything the sandbox has sent that the mirror has not had yet, through the event pipeline."""
    known = set(StripeEvent.objects.values_list("id", flat=True))
    fresh = [e for e in gateway().list_all("/v1/events") if e["id"] not in known]
    fresh.reverse()  # oldest first
    for evt in fresh:
        obj = evt["data"]["object"]
        StripeEvent.objects.create(
            id=evt["id"],
            type=evt["type"],
            created=dt.datetime.fromtimestamp(evt["created"], dt.UTC),
            object_type=obj.get("object", ""),
            object_id=obj.get("id", ""),
            payload=evt,
        )
    processing.events_process(event_ids=[e["id"] for e in fresh])
    return len(fresh)
