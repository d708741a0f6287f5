"""Reads of the catalog: products with their prices, and what self-serve offers in a currency."""

from __future__ import annotations

from dataclasses import dataclass

from djstripe.models import Price, Product

from billing.catalog.models import SelfServeOffer


@dataclass
class Offer:
    price: Price
    product: Product | None
    position: int
    max_quantity: int | None

    @property
    def interval(self) -> str:
        return ((self.price.stripe_data.get("recurring") or {}).get("interval")) or ""

    @property
    def unit_amount(self) -> int:
        return self.price.stripe_data.get("unit_amount") or 0

    @property
    def currency(self) -> str:
        return self.price.stripe_data.get("currency") or ""


def offers(*, currency: str | None = None) -> list[Offer]:
    """Active prices finance offers to self-serve, in their order; in one currency when given."""
    by_price = {o.price_id: o for o in SelfServeOffer.objects.all()}
    prices = Price.objects.filter(id__in=list(by_price), stripe_data__active=True).select_related("product")
    if currency:
        prices = prices.filter(stripe_data__currency=currency.lower())
    rows = [
        Offer(price=p, product=p.product, position=by_price[p.id].position, max_quantity=by_price[p.id].max_quantity)
        for p in prices
        if (p.product is None or p.product.stripe_data.get("active", True))
    ]
    return sorted(rows, key=lambda o: (o.position, o.price.id))


def offer_for(price_id: str) -> SelfServeOffer | None:
    return SelfServeOffer.objects.filter(price_id=price_id).first()


@dataclass
class ProductRow:
    product: Product
    prices: list[Price]
    offered: dict[str, SelfServeOffer]

    @property
    def currencies(self) -> list[str]:
        return sorted({p.stripe_data.get("currency") for p in self.prices})

    @property
    def matrix(self) -> list[dict]:
        """One row per currency: its monthly and annual price (and whether self-serve offers them)."""
        rows: dict[str, dict] = {}
        for price in self.prices:
            data = price.stripe_data
            row = rows.setdefault(data.get("currency"), {"currency": data.get("currency"), "month": None, "year": None})
            interval = (data.get("recurring") or {}).get("interval")
            if interval in ("month", "year") and (row[interval] is None or data.get("active")):
                row[interval] = {"price": price, "data": data, "offer": self.offered.get(price.id)}
        return [rows[c] for c in sorted(rows)]


def catalog(*, include_archived: bool = False) -> list[ProductRow]:
    """Every product with its recurring prices (active first), and which are offered to self-serve."""
    offers_by_price = {o.price_id: o for o in SelfServeOffer.objects.all()}
    prices = Price.objects.filter(livemode__isnull=False).exclude(stripe_data__recurring=None)
    if not include_archived:
        prices = prices.filter(stripe_data__active=True)
    by_product: dict[str, list[Price]] = {}
    for price in prices.order_by("stripe_data__currency", "stripe_data__unit_amount"):
        by_product.setdefault(price.product_id, []).append(price)
    products = sorted(
        Product.objects.filter(id__in=list(by_product)),
        key=lambda product: (_entry_price(by_product[product.id]), product.stripe_data.get("name") or ""),
    )
    return [
        ProductRow(
            product,
            by_product[product.id],
            {p.id: offers_by_price[p.id] for p in by_product[product.id] if p.id in offers_by_price},
        )
        for product in products
    ]


def _entry_price(prices: list[Price]) -> int:
    """Products in the order people climb them: by their cheapest monthly USD (or any) price."""
    monthly = [p.stripe_data for p in prices if (p.stripe_data.get("recurring") or {}).get("interval") == "month"]
    usd = [p.get("unit_amount") or 0 for p in monthly if p.get("currency") == "usd"]
    return min(usd or [p.get("unit_amount") or 0 for p in monthly] or [0])
