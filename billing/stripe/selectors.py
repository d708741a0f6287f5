"""Reads for the events and drift pages."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from billing.stripe.models import DriftReport, EventStatus, IntakeRejection, StripeEvent


def event_search(*, type_prefix: str = "", status: str = "", object_id: str = "", day: dt.date | None = None):
    events = StripeEvent.objects.defer("payload")
    if type_prefix:
        events = events.filter(type__startswith=type_prefix)
    if status in EventStatus.values:
        events = events.filter(status=status)
    if object_id:
        events = events.filter(object_id=object_id)
    if day:
        start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        events = events.filter(created__gte=start, created__lt=start + dt.timedelta(days=1))
    return events.order_by("-created", "-id")


def events_needing_attention_count() -> int:
    return StripeEvent.objects.needing_attention().count()


def failed_event_ids(limit: int = 10_000) -> list[str]:
    return list(StripeEvent.objects.needing_attention().values_list("pk", flat=True)[:limit])


def recent_rejections(limit: int = 10) -> QuerySet[IntakeRejection]:
    return IntakeRejection.objects.order_by("-day", "reason")[:limit]


def latest_drift_report() -> DriftReport | None:
    return DriftReport.objects.first()


def drift_history(limit: int = 10) -> QuerySet[DriftReport]:
    return DriftReport.objects.all()[:limit]
