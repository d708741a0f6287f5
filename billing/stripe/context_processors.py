"""The "catching up with Stripe" banner on finance pages: shown while events wait to be applied."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Count, Min
from django.utils import timezone

from accounts.access import staff_role
from billing.stripe.models import EventStatus, StripeEvent

BANNER_AFTER_SECONDS = 30  # a backlog younger than this is ordinary work in progress
BANNER_COUNT = 200
CACHE_SECONDS = 5  # one count per process every few seconds, not one per page


def event_backlog(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not staff_role(user):
        return {}
    backlog = cache.get("stripe:event_backlog") if CACHE_SECONDS else None
    if backlog is None:
        row = StripeEvent.objects.filter(status__in=[EventStatus.received, EventStatus.processing]).aggregate(
            waiting=Count("pk"), oldest=Min("received_at")
        )
        age = (timezone.now() - row["oldest"]).total_seconds() if row["oldest"] else 0
        backlog = {"waiting": row["waiting"], "age_seconds": int(age)}
        cache.set("stripe:event_backlog", backlog, CACHE_SECONDS)
    show = backlog["waiting"] >= BANNER_COUNT or (backlog["waiting"] and backlog["age_seconds"] >= BANNER_AFTER_SECONDS)
    return {"event_backlog": backlog if show else None}
