"""Reads for a customer's billing pages: only their organisation's rows, a fixed number of queries."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.core.paginator import Paginator
from djstripe.models import Customer, Invoice, Mandate, PaymentMethod, Product, Subscription, TaxId

from accounts.models import Organisation
from billing.catalog.selectors import Offer, offers
from billing.customers.payment_methods import billing_currency, methods_offered, usage_by_method
from billing.stripe import accessors
from billing.subscriptions.schedules import PendingChange, pending_changes


def billing_overview(*, organisation: Organisation, with_billing: bool) -> dict:
    """The plan always; payment methods and invoices only `with_billing` (owners and billing admins)."""
    customer_id = organisation.stripe_customer_id
    customer = Customer.mirror.real().filter(id=customer_id).first() if customer_id else None
    if customer is None:
        return {"customer": None, "subscription_rows": [], "payment_methods": [], "invoices": []}
    subscriptions = list(Subscription.mirror.for_customer(customer_id).order_by("-created"))
    pending = pending_changes([s for s in subscriptions if accessors.subscription_is_live(s)])
    billing: dict = {"payment_methods": [], "invoices": []}
    if with_billing:
        billing = {
            "payment_methods": list(PaymentMethod.mirror.for_customer(customer_id).order_by("-created")),
            "invoices": list(Invoice.mirror.for_customer(customer_id).order_by("-created")[:6]),
        }
    return {
        "customer": customer,
        "subscription_rows": [
            {
                "subscription": s,
                "period_end": accessors.subscription_period_end(s),
                "live": accessors.subscription_is_live(s),
                "pending": pending.get(s.id),
            }
            for s in subscriptions
        ],
        **billing,
    }


@dataclass
class PlanRow:
    subscription: Subscription
    item: dict
    product_name: str
    period_end: object
    pending: PendingChange | None
    payment_method: dict | None  # the method it is charged to (its own, else the customer's default)
    own_payment_method: str  # "" when it follows the customer's default
    offers: list[Offer] = field(default_factory=list)

    @property
    def data(self) -> dict:
        return self.subscription.stripe_data

    @property
    def live(self) -> bool:
        return accessors.subscription_is_live(self.subscription)

    @property
    def invoiced(self) -> bool:
        return self.data.get("collection_method") == "send_invoice"

    @property
    def sales_managed(self) -> bool:
        """Enterprise agreements and invoiced plans change through the sales team, not here."""
        return self.invoiced or self.subscription_enterprise

    subscription_enterprise: bool = False


def plan_page(*, organisation: Organisation) -> dict:
    """Every subscription with its plan, what is scheduled, what it is charged to, and the plans on offer."""
    customer_id = organisation.stripe_customer_id
    customer = Customer.mirror.real().filter(id=customer_id).first() if customer_id else None
    subscriptions = list(Subscription.mirror.for_customer(customer_id).order_by("-created"))
    live = [s for s in subscriptions if accessors.subscription_is_live(s)]
    recent_ended = [s for s in subscriptions if not accessors.subscription_is_live(s)][:3]
    pending = pending_changes(live)
    methods = {pm.id: pm.stripe_data for pm in PaymentMethod.mirror.for_customer(customer_id)}
    default = ((customer.stripe_data.get("invoice_settings") or {}).get("default_payment_method")) if customer else None
    product_ids = set()
    for s in subscriptions:
        for item in (s.stripe_data.get("items") or {}).get("data") or []:
            product = item["price"].get("product")
            product_ids.add(product if isinstance(product, str) else (product or {}).get("id"))
    names = dict(Product.objects.filter(id__in=[p for p in product_ids if p]).values_list("id", "stripe_data__name"))
    by_currency: dict[str, list[Offer]] = {}
    rows = []
    for s in [*live, *recent_ended]:
        items = (s.stripe_data.get("items") or {}).get("data") or []
        # The plan is the seat item; a metered item (usage) rides along and is shown on the usage page.
        seats = [i for i in items if ((i.get("price") or {}).get("recurring") or {}).get("usage_type") != "metered"]
        item = (seats or items or [{"price": {}, "quantity": 0}])[0]
        currency = (s.stripe_data.get("currency") or "").lower()
        if currency not in by_currency:
            by_currency[currency] = offers(currency=currency)
        own = s.stripe_data.get("default_payment_method") or ""
        own = own["id"] if isinstance(own, dict) else own
        product = item["price"].get("product")
        product = product if isinstance(product, str) else (product or {}).get("id")
        rows.append(
            PlanRow(
                subscription=s,
                item=item,
                product_name=names.get(product) or item["price"].get("nickname") or "Plan",
                period_end=accessors.subscription_period_end(s),
                pending=pending.get(s.id),
                payment_method=methods.get(own or default or ""),
                own_payment_method=own,
                offers=by_currency[currency],
                subscription_enterprise=organisation.is_enterprise,
            )
        )
    return {
        "customer": customer,
        "rows": rows,
        "payment_methods": methods,
        "default_payment_method": default,
    }


def subscription_of(organisation: Organisation, subscription_id: str) -> Subscription | None:
    """The organisation's own subscription, or None (the view answers 404)."""
    if not organisation.stripe_customer_id:
        return None
    return Subscription.mirror.for_customer(organisation.stripe_customer_id).filter(id=subscription_id).first()


def payment_methods_page(*, organisation: Organisation) -> dict:
    customer_id = organisation.stripe_customer_id
    customer = Customer.mirror.real().filter(id=customer_id).first() if customer_id else None
    methods = list(PaymentMethod.mirror.for_customer(customer_id).order_by("-created"))
    mandates = {}
    for mandate in Mandate.objects.filter(payment_method__id__in=[m.id for m in methods]).select_related(
        "payment_method"
    ):
        mandates[mandate.payment_method.id] = mandate.stripe_data
    subscriptions = list(Subscription.mirror.for_customer(customer_id).live().order_by("-created"))
    usage = usage_by_method(customer, subscriptions)
    default = ((customer.stripe_data.get("invoice_settings") or {}).get("default_payment_method")) if customer else None
    return {
        "customer": customer,
        "rows": [
            {"method": m, "data": m.stripe_data, "mandate": mandates.get(m.id), "used_by": usage.get(m.id, [])}
            for m in methods
        ],
        "default_payment_method": default,
        "subscriptions": subscriptions,
        "offered": methods_offered(organisation),
        "currency": billing_currency(organisation),
    }


def invoices_page(*, organisation: Organisation, page: str | int | None) -> dict:
    invoices = Invoice.mirror.for_customer(organisation.stripe_customer_id).real().newest_first()
    paginator = Paginator(invoices, 20)
    page_obj = paginator.get_page(page)
    rows = list(page_obj.object_list)
    return {
        "page_obj": page_obj,
        "invoices": rows,
        "has_terms": any(i.stripe_data.get("collection_method") == "send_invoice" for i in rows),
    }


def past_due(*, organisation: Organisation) -> dict | None:
    """Open invoices whose payment failed or whose due date passed: the banner on every page."""
    if not organisation.stripe_customer_id:
        return None
    rows = list(
        Invoice.mirror.for_customer(organisation.stripe_customer_id)
        .real()
        .past_due(int(time.time()))
        .order_by("created")[:10]
    )
    if not rows:
        return None
    currencies = {r.stripe_data.get("currency") for r in rows}
    return {
        "invoices": rows,
        "first": rows[0],
        "count": len(rows),
        "total": sum(r.stripe_data.get("amount_remaining") or 0 for r in rows) if len(currencies) == 1 else None,
        "currency": rows[0].stripe_data.get("currency"),
    }


def details_page(*, organisation: Organisation) -> dict:
    customer_id = organisation.stripe_customer_id
    customer = Customer.mirror.real().filter(id=customer_id).first() if customer_id else None
    tax_ids = list(TaxId.objects.filter(customer__id=customer_id).order_by("created")) if customer_id else []
    return {"customer": customer, "tax_ids": tax_ids}
