"""A launch's price book: every active recurring catalog price in the source currency, converted
with the launch's FX snapshot, rounded by its rule, and checked — against Stripe's minimum, against
the same product's prices in other currencies (FX-adjusted), against lookup keys Stripe already
holds. Reads the mirror only; the same inputs give the same book.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

from djstripe.models import Price

from billing.catalog.models import SelfServeOffer
from billing.currencies.fx import RateBook, reporting_currency
from billing.currencies.limits import minimum_charge
from billing.currencies.rounding import RoundingRule, round_price
from billing.money import to_decimal

# Flags a row can carry. Blocking ones stop approval until fixed (an override, or the catalog).
BLOCKING = {"below_minimum", "lookup_key_taken", "already_priced"}


@dataclass
class Draft:
    """A row before it is saved: what `services.launch_preview` writes as a LaunchRow."""

    source_price_id: str
    product_id: str
    product_name: str
    nickname: str
    interval: str
    interval_count: int
    tax_behavior: str
    source_amount: int
    converted: Decimal
    rounded: int
    lookup_key: str
    metadata: dict
    offer_position: int | None = None
    offer_max_quantity: int | None = None
    transfer_lookup_key: bool = False
    flags: list[dict] = field(default_factory=list)


def target_lookup_key(source_key: str | None, price_id: str, source: str, target: str) -> str:
    """`pro_monthly_usd` → `pro_monthly_jpy`; a key without the currency gets it appended; no key:
    the source price's id with the currency."""
    if source_key and source_key.endswith(f"_{source}"):
        return f"{source_key[: -len(source)]}{target}"
    return f"{source_key or price_id}_{target}"[:200]


def source_prices(currency: str) -> list[Price]:
    """Active recurring per-seat prices in `currency` of active products, in a stable order."""
    prices = Price.objects.filter(currency=currency.lower(), active=True).select_related("product")
    rows = []
    for price in prices:
        data = price.stripe_data
        product = price.product
        if not data.get("recurring") or data.get("unit_amount") is None:
            continue  # one-time prices and tiered or decimal amounts are not converted
        if data.get("billing_scheme", "per_unit") != "per_unit":
            continue
        if product is not None and not product.stripe_data.get("active", True):
            continue
        rows.append(price)
    return sorted(rows, key=lambda p: (p.product_id or "", _interval_order(p), p.id))


def _interval_order(price: Price) -> tuple:
    recurring = price.stripe_data.get("recurring") or {}
    order = {"day": 0, "week": 1, "month": 2, "year": 3}.get(recurring.get("interval"), 9)
    return order, recurring.get("interval_count") or 1


def build(
    *, source: str, target: str, rate: Decimal, rule: RoundingRule, tolerance: Decimal, day: dt.date
) -> tuple[list[Draft], int | None, str]:
    """The book, and Stripe's minimum in `target` with its basis."""
    book = RateBook()
    settlement = reporting_currency()
    settlement_rate = None
    quote_rate = book.rate(target, day)
    if quote_rate:
        settlement_rate = (book.rate(settlement, day) or Decimal(1)) / quote_rate
    minimum, basis = minimum_charge(target, settlement=settlement, settlement_rate=settlement_rate)
    prices = source_prices(source)
    offers = {o.price_id: o for o in SelfServeOffer.objects.filter(price_id__in=[p.id for p in prices])}
    siblings = sibling_prices_for({p.product_id for p in prices if p.product_id}, exclude={target})
    existing = _existing_in(target, {p.product_id for p in prices if p.product_id})
    drafts = []
    for price in prices:
        data = price.stripe_data
        recurring = data["recurring"]
        converted = (to_decimal(data["unit_amount"], source) * rate).quantize(Decimal("0.000001"))
        offer = offers.get(price.id)
        draft = Draft(
            source_price_id=price.id,
            product_id=price.product_id or "",
            product_name=(price.product.name if price.product else "") or "",
            nickname=data.get("nickname") or "",
            interval=recurring.get("interval") or "month",
            interval_count=recurring.get("interval_count") or 1,
            tax_behavior=data.get("tax_behavior") or "",
            source_amount=data["unit_amount"],
            converted=converted,
            rounded=round_price(converted, target, rule),
            lookup_key=target_lookup_key(data.get("lookup_key"), price.id, source, target),
            metadata=data.get("metadata") or {},
            offer_position=offer.position if offer else None,
            offer_max_quantity=offer.max_quantity if offer else None,
        )
        key = (draft.product_id, draft.interval, draft.interval_count)
        if key in existing:
            draft.flags.append({"kind": "already_priced", "price": existing[key]})
        drafts.append(draft)
    _flag_lookup_keys(drafts)
    for draft in drafts:
        draft.flags += check_amount(
            draft.rounded,
            target=target,
            minimum=minimum,
            siblings=siblings.get((draft.product_id, draft.interval, draft.interval_count), []),
            book=book,
            day=day,
            tolerance=tolerance,
        )
    return drafts, minimum, basis


def structural(flags: list[dict]) -> list[dict]:
    """The flags that do not depend on the amount (they stay when an override changes it)."""
    return [f for f in flags if f["kind"] in ("already_priced", "lookup_key_taken")]


def check_amount(
    amount: int,
    *,
    target: str,
    minimum: int | None,
    siblings: list[tuple[str, int]],
    book: RateBook,
    day: dt.date,
    tolerance: Decimal,
) -> list[dict]:
    """The amount's own flags: below Stripe's minimum, or more than `tolerance` % from a sibling."""
    flags: list[dict] = []
    if minimum is not None and amount < minimum:
        flags.append({"kind": "below_minimum", "minimum": minimum})
    target_rate = book.rate(target, day)
    worst = None
    for currency, sibling_amount in siblings:
        sibling_rate = book.rate(currency, day)
        if not target_rate or not sibling_rate or not sibling_amount:
            continue
        in_target = to_decimal(sibling_amount, currency) * sibling_rate / target_rate
        gap = ((to_decimal(amount, target) - in_target) / in_target * 100).quantize(Decimal("0.1"))
        if abs(gap) > tolerance and (worst is None or abs(gap) > abs(Decimal(worst["gap"]))):
            worst = {"kind": "sibling", "currency": currency, "amount": sibling_amount, "gap": str(gap)}
    if worst:
        flags.append(worst)
    return flags


def sibling_prices_for(products: set[str], *, exclude: set[str]) -> dict[tuple, list[tuple[str, int]]]:
    """Active recurring prices of `products` in other currencies, by (product, interval, count)."""
    found: dict[tuple, list[tuple[str, int]]] = {}
    for price in Price.objects.filter(product_id__in=products, active=True).exclude(currency__in=exclude):
        data = price.stripe_data
        recurring = data.get("recurring")
        if not recurring or data.get("unit_amount") is None:
            continue
        key = (price.product_id, recurring.get("interval"), recurring.get("interval_count") or 1)
        found.setdefault(key, []).append((price.currency, data["unit_amount"]))
    for values in found.values():
        values.sort()
    return found


def _existing_in(currency: str, products: set[str]) -> dict[tuple, str]:
    found = {}
    for price in Price.objects.filter(product_id__in=products, active=True, currency=currency):
        recurring = price.stripe_data.get("recurring")
        if recurring:
            found[(price.product_id, recurring.get("interval"), recurring.get("interval_count") or 1)] = price.id
    return found


def _flag_lookup_keys(drafts: list[Draft]) -> None:
    """A key an active price holds blocks the row; a key only an archived price holds is taken over
    (`transfer_lookup_key`) — a launch after a rollback reuses its keys."""
    holders: dict[str, list[tuple[str, bool]]] = {}
    for price_id, key, active in Price.objects.filter(lookup_key__in=[d.lookup_key for d in drafts]).values_list(
        "id", "lookup_key", "active"
    ):
        holders.setdefault(key, []).append((price_id, active))
    for draft in drafts:
        held = holders.get(draft.lookup_key, [])
        active = [price_id for price_id, is_active in held if is_active]
        if active:
            draft.flags.append({"kind": "lookup_key_taken", "price": active[0]})
        elif held:
            draft.transfer_lookup_key = True


def digest(rows) -> str:
    """SHA-256 of what the launch will create: frozen at approval, checked before the job starts."""
    payload = [
        (r.source_price_id, r.lookup_key, r.amount, r.interval, r.interval_count, r.product_id)
        for r in sorted(rows, key=lambda r: r.source_price_id)
    ]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()
