from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from accounts.access import finance_required
from billing.money import to_decimal
from billing.subscriptions import selectors
from billing.subscriptions.filters import SubscriptionFilter
from billing.ui.lists import Column, ListSpec, list_response


def _price_name(item) -> str:
    return (item.price.stripe_data.get("nickname") or item.price.id) if item.price else "?"


def _csv(subscription) -> list:
    row = selectors.subscription_rows([subscription])[0]
    data, currency = row.data, row.data.get("currency") or ""
    return [
        subscription.id,
        subscription.customer_id,
        row.organisation.name if row.organisation else "",
        data.get("status"),
        currency.upper(),
        " + ".join(f"{_price_name(i)} x {i.stripe_data.get('quantity')}" for i in row.items),
        to_decimal(row.mrr, currency) if row.mrr is not None and currency else "",
        data.get("cancel_at_period_end"),
        row.period_end.isoformat() if row.period_end else "",
        subscription.created.isoformat() if subscription.created else "",
    ]


SUBSCRIPTIONS = ListSpec(
    name="subscriptions",
    filterset=SubscriptionFilter,
    columns=[
        Column("Customer"),
        Column("Plan"),
        Column("Status"),
        Column("MRR", num=True),
        Column("Current period ends"),
        Column("Started", sort="created"),
    ],
    sorts={"created": ("created",)},
    default_sort="-created",
    results_template="subscriptions/_results.html",
    csv_header=[
        "subscription_id",
        "customer_id",
        "organisation",
        "status",
        "currency",
        "items",
        "mrr",
        "cancel_at_period_end",
        "period_end",
        "created",
    ],
    csv_row=_csv,
    decorate=selectors.subscription_rows,
    depends_on=(
        "djstripe.Subscription",
        "djstripe.SubscriptionItem",
        "djstripe.Price",
        "djstripe.Product",
        "djstripe.Customer",
        "accounts.Organisation",
        "billing_reports.SubscriptionMrr",
    ),
)


@finance_required()
def subscription_list(request: HttpRequest) -> HttpResponse:
    return list_response(
        request, SUBSCRIPTIONS, selectors.subscription_search(), page_template="subscriptions/list.html"
    )
