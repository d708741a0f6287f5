"""Reads for the finance customer pages: a fixed number of queries per page, whatever the rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from djstripe.models import Customer, Invoice, PaymentMethod, Subscription

from accounts.models import AuditLog, Organisation
from billing.reports.metrics import subscription_mrr
from billing.stripe import accessors


def customer_search(*, query: str = "", country: str = "") -> QuerySet[Customer]:
    """Customers (not stubs) with their organisation and subscriptions, for a page of rows."""
    return Customer.mirror.real().search(query).in_country(country).select_related("organisation").with_subscriptions()


@dataclass
class CustomerRow:
    customer: Customer
    organisation: Organisation | None
    country: str | None
    subscription: Subscription | None
    mrr: int
    currency: str | None


def customer_rows(customers: list[Customer]) -> list[CustomerRow]:
    """One row per customer of a page from `customer_search` (already joined and prefetched)."""
    rows = []
    for customer in customers:
        subscriptions = customer.subscription_list
        latest = subscriptions[0] if subscriptions else None
        rows.append(
            CustomerRow(
                customer=customer,
                organisation=_organisation_of(customer),
                country=accessors.customer_country(customer),
                subscription=latest,
                mrr=sum(subscription_mrr(s) for s in subscriptions),
                currency=(latest.stripe_data.get("currency") if latest else None)
                or customer.stripe_data.get("currency"),
            )
        )
    return rows


def _organisation_of(customer: Customer) -> Organisation | None:
    try:
        return customer.organisation
    except Organisation.DoesNotExist:
        return None


def customer_detail(*, customer_id: str) -> dict:
    customer = Customer.objects.select_related("organisation").get(id=customer_id)
    subscriptions = list(Subscription.mirror.for_customer(customer.id).order_by("-created"))
    return {
        "customer": customer,
        "organisation": _organisation_of(customer),
        "subscriptions": subscriptions,
        "subscription_rows": [
            {"subscription": s, "period_end": accessors.subscription_period_end(s), "mrr": subscription_mrr(s)}
            for s in subscriptions
        ],
        "invoices": list(Invoice.mirror.for_customer(customer.id).order_by("-created")[:50]),
        "payment_methods": list(PaymentMethod.mirror.for_customer(customer.id).order_by("-created")),
        "timeline": customer_timeline(customer),
    }


def customer_timeline(customer: Customer, limit: int = 30) -> list[AuditLog]:
    """What people (and the system) did to this customer: its organisation's audit entries and the
    entries about its Stripe objects."""
    organisation = _organisation_of(customer)
    condition = Q(object_id=customer.id) | Q(data__stripe_customer_id=customer.id)
    if organisation is not None:
        condition |= Q(organisation=organisation)
    return list(AuditLog.objects.filter(condition).order_by("-created_at", "-id")[:limit])
