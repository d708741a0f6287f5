"""Writes toward Stripe for what is sold: products and their prices. Finance admins only (views
check); each call keyed by the product's key or the price's lookup key, written through to the
mirror and audited."""

from __future__ import annotations

from django.db import transaction
from djstripe.models import Price

from accounts.audit import audit
from billing.catalog.models import SelfServeOffer
from billing.stripe import mirror
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for


def product_create(
    *, key: str, name: str, actor=None, tax_code: str | None = None, metadata: dict | None = None
) -> dict:
    """Create the product `key` (our plan key, kept in metadata.plan) once."""
    params: dict = {"name": name, "metadata": {"plan": key, **(metadata or {})}}
    if tax_code:
        params["tax_code"] = tax_code
    product = gateway().post("/v1/products", params, idempotency_key=key_for("product.create", f"plan:{key}"))
    with transaction.atomic():
        mirror.apply_object(product)
        audit(actor, "product.create", object_type="djstripe.product", object_id=product["id"], plan=key, name=name)
    return product


def price_create(
    *,
    product_id: str,
    currency: str,
    unit_amount: int,
    interval: str,
    lookup_key: str,
    nickname: str = "",
    actor=None,
    metadata: dict | None = None,
    tax_behavior: str | None = None,
) -> dict:
    """Create a recurring per-seat price once per lookup key (Stripe keeps lookup keys unique)."""
    if interval not in ("month", "year"):
        raise ValueError(f"interval must be month or year, not {interval!r}")
    if not isinstance(unit_amount, int) or unit_amount < 0:
        raise ValueError("unit_amount is a whole number of minor units, at least 0")
    params: dict = {
        "product": product_id,
        "currency": currency.lower(),
        "unit_amount": unit_amount,
        "recurring": {"interval": interval},
        "lookup_key": lookup_key,
        "nickname": nickname,
        "metadata": metadata or {},
    }
    if tax_behavior:
        params["tax_behavior"] = tax_behavior
    price = gateway().post("/v1/prices", params, idempotency_key=key_for("price.create", f"lookup:{lookup_key}"))
    with transaction.atomic():
        mirror.apply_object(price)
        audit(
            actor,
            "price.create",
            object_type="djstripe.price",
            object_id=price["id"],
            lookup_key=lookup_key,
            currency=currency.lower(),
            unit_amount=unit_amount,
            interval=interval,
        )
    return price


def price_archive(*, price_id: str, actor=None) -> dict:
    """Archive a price: existing subscriptions keep it, nobody new can choose it; self-serve stops offering it."""
    price = gateway().post(
        f"/v1/prices/{price_id}", {"active": "false"}, idempotency_key=key_for("price.archive", f"price:{price_id}")
    )
    with transaction.atomic():
        mirror.apply_object(price)
        SelfServeOffer.objects.filter(price_id=price_id).delete()
        audit(
            actor, "price.archive", object_type="djstripe.price", object_id=price_id, lookup_key=price.get("lookup_key")
        )
    return price


@transaction.atomic
def offer_set(
    *, price_id: str, offered: bool, position: int | None = None, max_quantity: int | None = None, actor=None
):
    """Offer a price to self-serve (in a position, with a seat limit) or stop offering it."""
    before = SelfServeOffer.objects.filter(price_id=price_id).values("position", "max_quantity").first()
    if not offered:
        SelfServeOffer.objects.filter(price_id=price_id).delete()
        audit(actor, "price.unoffer", object_type="djstripe.price", object_id=price_id, before=before)
        return None
    price = Price.objects.filter(id=price_id, livemode__isnull=False).values_list("stripe_data", flat=True).first()
    if price is None or not price.get("active") or not price.get("recurring"):
        raise ValueError("Only an active recurring price can be offered to self-serve.")
    if position is not None and not 0 <= position <= 10_000:
        raise ValueError("The position is a number from 0 to 10,000.")
    if max_quantity is not None and max_quantity < 1:
        raise ValueError("The seat limit is at least 1 (or empty for none).")
    offer, _ = SelfServeOffer.objects.update_or_create(
        price_id=price_id,
        defaults={
            "position": position if position is not None else (before or {}).get("position", 100),
            "max_quantity": max_quantity,
            "created_by": actor,
        },
    )
    audit(
        actor,
        "price.offer",
        object_type="djstripe.price",
        object_id=price_id,
        before=before,
        after={"position": offer.position, "max_quantity": offer.max_quantity},
    )
    return offer
