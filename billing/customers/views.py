from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from djstripe.models import Customer

from accounts.access import finance_required
from billing.customers import selectors
from billing.customers.forms import CustomerSearchForm


@finance_required()
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerSearchForm(request.GET)
    if form.is_valid():
        query, country = form.cleaned_data["q"], form.cleaned_data["country"]
        customers = selectors.customer_search(query=query, country=country)
    else:  # a search that cannot run shows nothing (not everyone) and says why
        query, country = form.data.get("q", "")[:200], form.data.get("country", "")[:2]
        customers = Customer.objects.none()
    page = Paginator(customers, 50).get_page(request.GET.get("page"))
    context = {
        "rows": selectors.customer_rows(list(page.object_list)),
        "page_obj": page,
        "query": query,
        "country": country,
        "search_errors": [error for errors in form.errors.values() for error in errors],
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
