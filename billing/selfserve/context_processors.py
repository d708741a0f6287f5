"""The past-due banner on every self-serve page: open invoices whose payment failed or is overdue."""

from __future__ import annotations

from accounts.access import membership_of, staff_role
from billing.selfserve import selectors


def billing_alerts(request) -> dict:
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    if match is None or match.app_name != "selfserve" or user is None or not user.is_authenticated:
        return {}
    if staff_role(user):
        return {}
    membership = membership_of(user)
    if membership is None:
        return {}
    return {"past_due": selectors.past_due(organisation=membership.organisation)}
