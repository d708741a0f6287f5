"""Reads for the finance subscription list."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch
from djstripe.models import Subscription, SubscriptionItem

from accounts.models import Organisation
from billing.reports.models import SubscriptionMrr
from billing.stripe import accessors


def subscription_search():
    return (
        Subscription.mirror.real()
        .select_related("customer", "customer__organisation")
        .defer("customer__stripe_data")  # the list reads the customer's id and organisation only
        .prefetch_related(
            Prefetch("items", queryset=SubscriptionItem.objects.select_related("price__product"), to_attr="item_list")
        )
    )


@dataclass
class SubscriptionRow:
    subscription: Subscription
    data: dict
    organisation: Organisation | None
    mrr: int | None
    period_end: object
    items: list


def subscription_rows(subscriptions: list[Subscription]) -> list[SubscriptionRow]:
    mrr = dict(
        SubscriptionMrr.objects.filter(subscription_id__in=[s.id for s in subscriptions]).values_list(
            "subscription_id", "mrr"
        )
    )
    rows = []
    for s in subscriptions:
        try:
            organisation = s.customer.organisation if s.customer else None
        except Organisation.DoesNotExist:
            organisation = None
        rows.append(
            SubscriptionRow(
                s, s.stripe_data, organisation, mrr.get(s.id), accessors.subscription_period_end(s), s.item_list
            )
        )
    return rows
