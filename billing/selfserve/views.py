from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import customer_required
from accounts.models import Membership
from billing.selfserve import selectors


@customer_required
def overview(request: HttpRequest, membership: Membership) -> HttpResponse:
    """A customer's billing page: the plan for every member; payment methods, invoices and billing
    details for owners and billing admins."""
    context = selectors.billing_overview(
        organisation=membership.organisation, with_billing=membership.can_manage_billing
    )
    context.update(organisation=membership.organisation, membership=membership)
    return render(request, "selfserve/overview.html", context)
