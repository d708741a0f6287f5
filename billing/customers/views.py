from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from djstripe.models import Customer

from accounts.access import finance_required
from billing.customers import selectors


@finance_required()
def customer_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    country = request.GET.get("country", "")[:2]
    page = Paginator(selectors.customer_search(query=query, country=country), 50).get_page(request.GET.get("page"))
    context = {
        "rows": selectors.customer_rows(list(page.object_list)),
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
    return render(request, "customers/detail.html", context)
