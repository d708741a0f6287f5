from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from djstripe.models import Customer, Invoice, PaymentMethod, Subscription

from accounts.access import customer_required
from accounts.models import Membership
from billing.stripe import accessors


@customer_required
def overview(request: HttpRequest, membership: Membership) -> HttpResponse:
    """A customer's billing page: plan, payment methods, invoices, billing details."""
    organisation = membership.organisation
    customer_id = organisation.stripe_customer_id
    customer = Customer.objects.filter(id=customer_id).first() if customer_id else None
    subscriptions = list(Subscription.objects.filter(customer_id=customer_id).order_by("-created")) if customer else []
    context = {
        "organisation": organisation,
        "membership": membership,
        "customer": customer,
        "subscription_rows": [
            {
                "subscription": s,
                "period_end": accessors.subscription_period_end(s),
                "live": accessors.subscription_is_live(s),
            }
            for s in subscriptions
        ],
        "payment_methods": list(PaymentMethod.objects.filter(customer_id=customer_id).order_by("-created"))
        if customer
        else [],
        "invoices": list(Invoice.objects.filter(customer_id=customer_id).order_by("-created")[:24]) if customer else [],
    }
    return render(request, "selfserve/overview.html", context)
