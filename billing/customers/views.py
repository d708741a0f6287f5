from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from djstripe.models import Customer

from accounts.access import finance_required
from billing.customers import selectors
from billing.stripe import accessors


@finance_required()
def customer_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    country = request.GET.get("country", "")[:2]
    paginator = Paginator(selectors.customer_search(query=query, country=country), 50)
    page = paginator.get_page(request.GET.get("page"))
    customers = list(page.object_list)
    orgs = selectors.organisations_by_customer(customers)
    rows = []
    for customer in customers:
        subscription = customer.subscription_list[0] if customer.subscription_list else None
        rows.append(
            {
                "customer": customer,
                "organisation": orgs.get(customer.id),
                "country": accessors.customer_country(customer),
                "subscription": subscription,
                "mrr": sum(accessors.subscription_mrr(s) for s in customer.subscription_list),
                "currency": (subscription.stripe_data.get("currency") if subscription else None)
                or customer.stripe_data.get("currency"),
            }
        )
    context = {
        "rows": rows,
        "page_obj": page,
        "query": query,
        "country": country,
        "querystring": urlencode({k: v for k, v in {"q": query, "country": country}.items() if v}),
    }
    template = "customers/_results.html" if request.headers.get("HX-Request") else "customers/list.html"
    return render(request, template, context)


@finance_required()
def customer_detail(request: HttpRequest, customer_id: str) -> HttpResponse:
    try:
        context = selectors.customer_detail(customer_id=customer_id)
    except Customer.DoesNotExist:
        raise Http404("No such customer in the mirror") from None
    context["subscription_rows"] = [
        {"subscription": s, "period_end": accessors.subscription_period_end(s), "mrr": accessors.subscription_mrr(s)}
        for s in context["subscriptions"]
    ]
    return render(request, "customers/detail.html", context)
