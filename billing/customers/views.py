from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from djstripe.models import Customer

from accounts.access import finance_required
from billing.customers import selectors
from billing.customers.filters import CustomerFilter
from billing.money import to_decimal
from billing.ui.lists import Column, ListSpec, list_response

CUSTOMERS = ListSpec(
    name="customers",
    filterset=CustomerFilter,
    columns=[
        Column("Customer", sort="name"),
        Column("Email"),
        Column("Country"),
        Column("Plan status"),
        Column("MRR", num=True),
        Column("Since", sort="created"),
    ],
    sorts={"created": ("created",), "name": ("stripe_data__name",)},
    default_sort="-created",
    results_template="customers/_results.html",
    csv_header=["customer_id", "name", "organisation", "email", "country", "currency", "mrr", "status", "created"],
    csv_row=lambda customer: _csv_row(selectors.customer_rows([customer])[0]),
    decorate=selectors.customer_rows,
    depends_on=(
        "djstripe.Customer",
        "accounts.Organisation",
        "djstripe.Subscription",
        "djstripe.SubscriptionItem",
        "djstripe.Price",
        "djstripe.Product",
        "djstripe.Invoice",
        "djstripe.PaymentMethod",
    ),
)


def _csv_row(row: selectors.CustomerRow) -> list:
    return [
        row.customer.id,
        row.customer.stripe_data.get("name") or "",
        row.organisation.name if row.organisation else "",
        row.customer.email or "",
        row.country or "",
        (row.currency or "").upper(),
        to_decimal(row.mrr, row.currency) if row.currency else "",
        row.subscription.stripe_data.get("status") if row.subscription else "",
        row.customer.created.isoformat() if row.customer.created else "",
    ]


@finance_required()
def customer_list(request: HttpRequest) -> HttpResponse:
    return list_response(request, CUSTOMERS, selectors.customer_search(), page_template="customers/list.html")


@finance_required()
def customer_detail(request: HttpRequest, customer_id: str) -> HttpResponse:
    try:
        context = selectors.customer_detail(customer_id=customer_id)
    except Customer.DoesNotExist:
        raise Http404("No such customer in the mirror") from None
    return render(request, "customers/detail.html", context)
