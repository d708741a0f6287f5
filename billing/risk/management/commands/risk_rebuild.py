"""Rebuild the risk cases from the mirror: after `stripe_backfill` (which writes the mirror without
events, so no receiver ran), or after FX rates were added for amounts that had none.

Warnings found here, not by their event, are not refunded by the policy: they wait for a person.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from djstripe.models import Dispute, EarlyFraudWarning, Review

from billing.risk import cases
from billing.risk.models import WarningCase, WarningOutcome


class Command(BaseCommand):
    help = "Create or refresh every review, early fraud warning and dispute case from the mirror."

    def handle(self, *args, **options):
        counts = {}
        for name, model, refresh in (
            ("reviews", Review, cases.review_refresh),
            ("disputes", Dispute, cases.dispute_refresh),
        ):
            ids = list(model.objects.filter(livemode__isnull=False).values_list("id", flat=True).iterator())
            for object_id in ids:
                refresh(object_id)
            counts[name] = len(ids)
        known = set(WarningCase.objects.values_list("pk", flat=True))
        ids = list(EarlyFraudWarning.objects.filter(livemode__isnull=False).values_list("id", flat=True).iterator())
        for warning_id in ids:
            cases.warning_refresh(warning_id)
        WarningCase.objects.filter(pk__in=set(ids) - known, outcome=WarningOutcome.pending).update(
            outcome=WarningOutcome.policy_off, note="found by a rebuild, not by its event: for a person"
        )
        counts["early fraud warnings"] = len(ids)
        self.stdout.write(", ".join(f"{n} {name}" for name, n in counts.items()) + " refreshed from the mirror")
