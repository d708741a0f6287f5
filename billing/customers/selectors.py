"""Reads for the finance customer pages: a fixed number of queries per page, whatever the rows."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from djstripe.models import Customer, Invoice, PaymentMethod, Subscription

from accounts.models import Organisation


def customer_search(*, query: str = "", country: str = "") -> QuerySet[Customer]:
    customers = Customer.objects.filter(livemode__isnull=False).order_by("-created", "-djstripe_id")
    query = query.strip()
    if query:
        if query.startswith("cus_"):
            customers = customers.filter(id=query)
        else:
            org_ids = Organisation.objects.filter(name__icontains=query).values("stripe_customer_id")
            customers = customers.filter(
                Q(email__icontains=query) | Q(stripe_data__name__icontains=query) | Q(id__in=org_ids)
            )
    if country:
        customers = customers.filter(stripe_data__address__country=country.upper())
    return customers.prefetch_related(
        Prefetch("subscriptions", queryset=Subscription.objects.order_by("-created"), to_attr="subscription_list")
    )


def organisations_by_customer(customers: list[Customer]) -> dict[str, Organisation]:
    ids = [c.id for c in customers]
    return {o.stripe_customer_id: o for o in Organisation.objects.filter(stripe_customer_id__in=ids)}


def customer_detail(*, customer_id: str) -> dict:
    customer = Customer.objects.get(id=customer_id)
    return {
        "customer": customer,
        "organisation": Organisation.objects.filter(stripe_customer_id=customer.id).first(),
        "subscriptions": list(Subscription.objects.filter(customer_id=customer.id).order_by("-created")),
        "invoices": list(Invoice.objects.filter(customer_id=customer.id).order_by("-created")[:50]),
        "payment_methods": list(PaymentMethod.objects.filter(customer_id=customer.id).order_by("-created")),
    }
