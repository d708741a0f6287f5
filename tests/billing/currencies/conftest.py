"""A catalog in the sandbox (USD and EUR prices, offered to self-serve), FX rates, two admins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.catalog.models import SelfServeOffer
from billing.catalog.services import price_create, product_create
from billing.currencies.models import CountryCurrency, FxRate

# Monthly per-seat prices; annual is ten months.
PLANS = {"pro": ("Pro", {"usd": 875, "eur": 800}), "business": ("Business+", {"usd": 1500, "eur": 1400})}
RATES = {"jpy": "0.0067", "eur": "1.0842", "sek": "0.0952", "kwd": "3.25", "cad": "0.7200"}


def add_rates(day: dt.date | None = None, **overrides: str) -> None:
    day = day or timezone.now().date()
    for currency, rate in {**RATES, **overrides}.items():
        FxRate.objects.update_or_create(
            currency=currency, quote="usd", day=day, defaults={"rate": Decimal(rate), "source": "ECB (test)"}
        )


def build_catalog(plans: dict = PLANS, *, extra_products: int = 0) -> list[str]:
    """Products and prices through the catalog services (mirrored); self-serve offers the USD and EUR
    prices of every plan but the last extra ones. Returns the USD price ids in offer order."""
    usd = []
    plans = dict(plans)
    for n in range(extra_products):
        plans[f"addon{n:03d}"] = (f"Add-on {n}", {"usd": 300 + 25 * n})
    for position, (key, (name, amounts)) in enumerate(plans.items()):
        product = product_create(key=key, name=name)
        for currency, monthly in amounts.items():
            for interval, amount in (("month", monthly), ("year", monthly * 10)):
                price = price_create(
                    product_id=product["id"],
                    currency=currency,
                    unit_amount=amount,
                    interval=interval,
                    lookup_key=f"{key}_{interval}ly_{currency}",
                    nickname=f"{name} {interval}ly",
                )
                if not key.startswith("addon"):
                    SelfServeOffer.objects.create(price_id=price["id"], position=position * 10 + (interval == "year"))
                if currency == "usd":
                    usd.append(price["id"])
    return usd


@pytest.fixture
def catalog(sandbox, db):
    add_rates()
    CountryCurrency.objects.create(country="JP", currency="usd")  # the company bills Japan in dollars today
    return build_catalog()


@pytest.fixture
def admins(people):
    """`people` with a second finance admin for the four-eyes step."""
    from django.contrib.auth import get_user_model

    from accounts.models import StaffProfile, StaffRole

    second = get_user_model().objects.create_user(username="finance-admin-2", password="pw-for-tests-1")
    StaffProfile.objects.create(user=second, role=StaffRole.admin)
    people.admin2 = second
    return people
