"""The ledger checked against the mirror: every subscription's recorded MRR equals what its
mirrored state gives now (a difference means an event was lost or a receiver failed)."""

from __future__ import annotations

from django.utils import timezone
from djstripe.models import Subscription

from billing.reports import ledger, metrics
from billing.reports.models import LedgerCheck, SubscriptionMrr


def ledger_check(*, repair: bool = False) -> LedgerCheck:
    recorded = dict(SubscriptionMrr.objects.values_list("subscription_id", "mrr"))
    check = LedgerCheck(checked=0, differing=0, details=[])
    for data in (
        Subscription.objects.filter(livemode__isnull=False)
        .values_list("stripe_data", flat=True)
        .iterator(chunk_size=2000)
    ):
        check.checked += 1
        expected = metrics.subscription_mrr(data, ledger.coupons_for(data))
        if recorded.get(data["id"], 0) != expected:
            check.differing += 1
            if len(check.details) < 200:
                check.details.append(
                    {"subscription": data["id"], "ledger": recorded.get(data["id"], 0), "mirror": expected}
                )
            if repair:
                ledger.record_subscription(data, effective_at=timezone.now(), source="ledger-check")
    check.save()
    return check
