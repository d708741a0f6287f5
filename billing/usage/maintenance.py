"""Housekeeping: the dedupe keys are needed only while an event with them could still be accepted."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from billing.usage.models import UsageEventKey


def keys_prune(*, now: dt.datetime | None = None, batch: int = 50_000, max_batches: int = 100) -> int:
    """Delete keys received before any event they name could be accepted again: an event is refused
    once older than USAGE_LATENESS_DAYS, and was at most USAGE_FUTURE_SECONDS ahead when it came."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.USAGE_LATENESS_DAYS + 1, seconds=settings.USAGE_FUTURE_SECONDS)
    done = 0
    for _ in range(max_batches):
        old = list(
            UsageEventKey.objects.filter(received_at__lt=cutoff).values_list("organisation_id", "event_id")[:batch]
        )
        if not old:
            break
        for org_id in {o for o, _ in old}:
            UsageEventKey.objects.filter(
                organisation_id=org_id, event_id__in=[e for o, e in old if o == org_id]
            ).delete()
        done += len(old)
    return done
