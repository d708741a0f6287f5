"""Reads for a customer's billing pages: only their organisation's rows, a fixed number of queries."""

from __future__ import annotations

from djstripe.models import Customer, Invoice, PaymentMethod, Subscription

from accounts.models import Organisation
from billing.stripe import accessors


def billing_overview(*, organisation: Organisation, with_billing: bool) -> dict:
    """The plan always; payment methods and invoices only `with_billing` (owners and billing admins)."""
    customer_id = organisation.stripe_customer_id
    customer = Customer.mirror.real().filter(id=customer_id).first() if customer_id else None
    if customer is None:
        return {"customer": None, "subscription_rows": [], "payment_methods": [], "invoices": []}
    subscriptions = Subscription.mirror.for_customer(customer_id).order_by("-created")
    billing: dict = {"payment_methods": [], "invoices": []}
    if with_billing:
        billing = {
            "payment_methods": list(PaymentMethod.mirror.for_customer(customer_id).order_by("-created")),
            "invoices": list(Invoice.mirror.for_customer(customer_id).order_by("-created")[:24]),
        }
    return {
        "customer": customer,
        "subscription_rows": [
            {
                "subscription": s,
                "period_end": accessors.subscription_period_end(s),
                "live": accessors.subscription_is_live(s),
            }
            for s in subscriptions
        ],
        **billing,
    }
