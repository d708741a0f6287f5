"""Writes people ask for in the gateway app: replaying events, registering the webhook endpoint,
pruning what has been kept long enough. Each audited here, not in the view that calls it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit
from billing.stripe import intake, queue, sync
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from billing.stripe.models import DriftReport, EventStatus, ObjectVersion, StripeEvent, WebhookEndpoint


@transaction.atomic
def event_replay(*, event_ids: Iterable[str], actor=None, reason: str = "") -> int:
    """Put events back in the queue (failed, dead, or any chosen). Returns how many."""
    ids = list(StripeEvent.objects.filter(pk__in=list(event_ids)).values_list("pk", flat=True))
    StripeEvent.objects.filter(pk__in=ids).update(status=EventStatus.received, next_attempt_at=None)
    for event_id in ids:
        transaction.on_commit(lambda event_id=event_id: queue.enqueue(event_id))
    audit(
        actor,
        "stripe_event.replay",
        object_type="billing_stripe.stripeevent",
        object_id=ids[0] if len(ids) == 1 else f"{len(ids)} events",
        count=len(ids),
        event_ids=ids[:100],
        reason=reason,
    )
    return len(ids)


def webhook_endpoint_register(*, url: str, actor=None) -> WebhookEndpoint:
    """Register our intake with Stripe (or the sandbox) once per URL and base, keeping its secret.

    The idempotency key comes from our own row, made before the call: a crash after Stripe
    answered and a second run send the same key and get the same endpoint back.
    """
    client = gateway()
    endpoint = WebhookEndpoint.objects.filter(url=url, api_base=settings.STRIPE_API_BASE).first()
    if endpoint and endpoint.stripe_id:
        remote_ids = {e["id"] for e in client.list_all("/v1/webhook_endpoints")}
        if endpoint.stripe_id in remote_ids:
            return endpoint
        endpoint.delete()  # the sandbox was reset, or someone removed it in Stripe's dashboard
        endpoint = None
    if endpoint is None:
        endpoint = WebhookEndpoint.objects.create(
            url=url, api_base=settings.STRIPE_API_BASE, api_version=settings.STRIPE_API_VERSION
        )
    created = client.post(
        "/v1/webhook_endpoints",
        {
            "url": url,
            "enabled_events": ["*"],
            "api_version": settings.STRIPE_API_VERSION,
            "description": "Billing portal intake",
        },
        idempotency_key=key_for("webhook_endpoint.create", endpoint),
    )
    endpoint.stripe_id = created["id"]
    endpoint.secret = created["secret"]
    endpoint.save(update_fields=["stripe_id", "secret"])
    intake.forget_webhook_secrets()
    audit(actor, "webhook_endpoint.register", endpoint, url=url, api_base=settings.STRIPE_API_BASE)
    return endpoint


def events_prune(*, keep_days: int, batch: int = 5_000, max_batches: int | None = None) -> dict[str, int]:
    """Delete applied and ignored events older than `keep_days`, and tombstones of deleted objects
    as old, in bounded batches (short transactions, no long lock). Failed and dead events stay
    until someone deals with them."""
    cutoff = timezone.now() - dt.timedelta(days=keep_days)
    done = {"events": 0, "tombstones": 0}
    batches = 0
    while max_batches is None or batches < max_batches:
        ids = list(
            StripeEvent.objects.filter(status__in=[EventStatus.applied, EventStatus.ignored], created__lt=cutoff)
            .order_by()
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        done["events"] += StripeEvent.objects.filter(pk__in=ids).delete()[0]
        batches += 1
    # A tombstone keeps a late event from resurrecting a deleted object; Stripe stops redelivering
    # after three days, so one older than the retention period guards nothing.
    oldest = int(cutoff.timestamp())
    while max_batches is None or batches < max_batches:
        ids = list(
            ObjectVersion.objects.filter(deleted=True, event_created__lt=oldest).values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        done["tombstones"] += ObjectVersion.objects.filter(pk__in=ids).delete()[0]
        batches += 1
    return done


def drift_repair(*, report: DriftReport, object_type: str, stripe_id: str, actor=None) -> str:
    """Repair one object a reconciliation found different, from Stripe's current state; audited."""
    if object_type not in sync.LISTING_BY_TYPE:
        raise ValueError(f"{object_type} is not a mirrored type")
    done = sync.repair_one(object_type=object_type, stripe_id=stripe_id)
    details = [
        {**d, "repaired": True} if (d.get("type"), d.get("id")) == (object_type, stripe_id) else d
        for d in report.details
    ]
    DriftReport.objects.filter(pk=report.pk).update(details=details)
    audit(
        actor, "mirror.repair", object_type=f"djstripe.{object_type}", object_id=stripe_id, report=report.pk, done=done
    )
    return done


@transaction.atomic
def drift_repair_all(*, report: DriftReport, actor=None) -> int:
    """Queue the repair of every difference in a report (a task on the reports queue); audited."""
    pending = [d for d in report.details if not d.get("repaired")]
    transaction.on_commit(
        lambda: queue.send("billing.stripe.tasks.repair_drift", report.pk, getattr(actor, "pk", None))
    )
    audit(actor, "mirror.repair_all", report, differences=len(pending))
    return len(pending)
