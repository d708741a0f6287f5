"""Reporting usage to Stripe's meters, exactly once.

Each run, per open period: compare what the period should bill now (its value, plus finance's
corrections made before invoicing) with what was reported, and write the difference as a
`MeterReport` row — its identifier fixed before anything is sent — in the same transaction that
moves `reported_value`. Then send pending reports through the gateway (shared rate limiter,
idempotency key from the row). A worker killed anywhere leaves either no row (nothing was
reported, the next run computes the same difference) or a pending row (re-sent with the same
identifier and idempotency key: Stripe replays its first answer, or refuses the identifier as a
duplicate — both mean delivered). So each unit reaches Stripe once.

Sum and count meters send increments; max, last and active-seat meters send the period's value
to a `last` meter. A lower total for a sum meter (a correction removing usage) cancels what was
sent with meter event adjustments and sends the new total once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.utils import timezone

from billing.stripe.errors import InvalidRequest, StripeGatewayError, StripeUnavailable
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from billing.usage import periods
from billing.usage.models import (
    CorrectionRoute,
    MeterReport,
    ReportStatus,
    UsageCorrection,
    UsageDay,
    UsagePeriod,
)

log = logging.getLogger(__name__)
BATCH = 500  # reports sent per run at most; the rest wait for the next (beat runs every minute)


def target(period: UsagePeriod, *, now: dt.datetime) -> int:
    corrections = (
        UsageCorrection.objects.filter(period=period, route=CorrectionRoute.meter_event)
        .exclude(status=ReportStatus.failed)
        .aggregate(q=Sum("quantity"))["q"]
        or 0
    )
    return max(0, periods.value(period, now=now) + corrections)


def _timestamp(period: UsagePeriod, now: dt.datetime, after: dt.datetime | None) -> dt.datetime:
    """Inside the period (Stripe bills a meter event in the period of its timestamp), and after the
    previous report, so a `last` meter reads the newest value."""
    last_second = period.end - dt.timedelta(seconds=1)
    when = min(last_second, max(period.start, now.replace(microsecond=0)))
    if after is not None and when <= after:
        when = min(last_second, after + dt.timedelta(seconds=1))
    return when


@transaction.atomic
def period_prepare(period_id: int, *, now: dt.datetime) -> list[MeterReport]:
    """The reports that bring Stripe's value for the period to what it should be now."""
    period = UsagePeriod.objects.select_for_update().select_related("meter").get(pk=period_id)
    if period.closed_at is not None or not period.meter.stripe_event_name:
        return []
    wanted = target(period, now=now)
    reported = period.reported_value
    if wanted == reported:
        return []
    previous = period.reports.order_by("-sequence").first()
    sequence = previous.sequence + 1 if previous else 1
    made = []
    if period.meter.stripe_formula == "sum" and wanted < reported:
        # Less than Stripe already has: cancel every report of the period, then send the total once.
        period.reports.filter(status__in=[ReportStatus.pending, ReportStatus.sent]).update(
            status=ReportStatus.cancelled, cancelled_at=None
        )
        reported = 0
    amount = wanted - reported if period.meter.stripe_formula == "sum" else wanted
    if amount > 0 or period.meter.stripe_formula == "last":
        made.append(
            MeterReport.objects.create(
                period=period,
                sequence=sequence,
                value=amount,
                identifier=f"portal-usage-{period.pk}-{sequence}",
                timestamp=_timestamp(period, now, previous.timestamp if previous else None),
            )
        )
    period.reported_value = wanted
    period.last_reported_at = timezone.now()
    period.save(update_fields=["reported_value", "last_reported_at"])
    return made


def report_send(report: MeterReport) -> MeterReport:
    """Send one pending report (or the adjustment of a cancelled one). Safe to call twice."""
    period = report.period
    meter = period.meter
    client = gateway()
    try:
        if report.status == ReportStatus.cancelled:
            client.post(
                "/v1/billing/meter_event_adjustments",
                {"event_name": meter.stripe_event_name, "type": "cancel", "cancel": {"identifier": report.identifier}},
                idempotency_key=key_for("usage.meter_event_cancel", report),
            )
            report.cancelled_at = timezone.now()
            report.save(update_fields=["cancelled_at"])
            return report
        client.post(
            "/v1/billing/meter_events",
            {
                "event_name": meter.stripe_event_name,
                "identifier": report.identifier,
                "timestamp": int(report.timestamp.timestamp()),
                "payload": {"stripe_customer_id": period.customer_id, "value": str(report.value)},
            },
            idempotency_key=key_for("usage.meter_event", report),
        )
    except InvalidRequest as error:
        if report.status == ReportStatus.cancelled and "identifier" in (error.param or ""):
            report.cancelled_at = timezone.now()  # never reached Stripe: nothing to cancel
            report.save(update_fields=["cancelled_at"])
            return report
        if error.code != "resource_already_exists":
            report.status, report.error = ReportStatus.failed, error.message[:1000]
            report.attempts += 1
            report.save(update_fields=["status", "error", "attempts"])
            log.warning("meter report %s refused by Stripe: %s", report.identifier, error.message)
            return report
        # Stripe has this identifier already: delivered before a crash. It counts once.
    report.status, report.sent_at, report.error = ReportStatus.sent, timezone.now(), ""
    report.attempts += 1
    report.save(update_fields=["status", "sent_at", "error", "attempts"])
    return report


def reports_send(*, period_ids: list[int] | None = None, limit: int = BATCH) -> int:
    """Send pending reports and cancellations, oldest first; stop when Stripe is unavailable."""
    pending = MeterReport.objects.filter(status=ReportStatus.pending) | MeterReport.objects.filter(
        status=ReportStatus.cancelled, cancelled_at__isnull=True
    )
    if period_ids is not None:
        pending = pending.filter(period_id__in=period_ids)
    sent = 0
    for report in pending.select_related("period__meter").order_by("status", "pk")[:limit]:
        try:
            report_send(report)
        except StripeUnavailable:
            log.warning("Stripe unavailable; %s and later reports wait for the next run", report.identifier)
            break
        except StripeGatewayError as error:
            report.status, report.error = ReportStatus.failed, error.message[:1000]
            report.save(update_fields=["status", "error"])
        sent += 1
    return sent


def usage_report(*, now: dt.datetime | None = None, customer_id: str | None = None) -> dict[str, int]:
    """Beat (every minute) and the invoice flush: sync periods, prepare reports, send them."""
    now = now or timezone.now()
    periods.periods_sync(customer_id=customer_id)
    open_periods = UsagePeriod.objects.filter(closed_at__isnull=True)
    if customer_id:
        open_periods = open_periods.filter(customer_id=customer_id)
    else:
        open_periods = open_periods.filter(_changed_since_reported())
    prepared = 0
    ids = list(open_periods.values_list("pk", flat=True))
    for period_id in ids:
        prepared += len(period_prepare(period_id, now=now))
    sent = reports_send(period_ids=ids if customer_id else None)
    _corrections_delivered()
    return {"periods": len(ids), "prepared": prepared, "sent": sent}


def _corrections_delivered() -> int:
    """Meter-event corrections count as sent once a report after them has reached Stripe."""
    waiting = MeterReport.objects.filter(period=OuterRef("period_id"), status=ReportStatus.pending)
    return (
        UsageCorrection.objects.filter(
            route=CorrectionRoute.meter_event,
            status=ReportStatus.pending,
            period__last_reported_at__gte=F("created_at"),
        )
        .filter(~Exists(waiting))
        .update(status=ReportStatus.sent, sent_at=timezone.now())
    )


def _changed_since_reported() -> Q:
    """Periods worth a look: never reported, or with events or corrections since the last report
    (a minute's margin for batches that were committing while it ran)."""
    since = ExpressionWrapper(OuterRef("last_reported_at") - dt.timedelta(minutes=1), output_field=DateTimeField())
    events = UsageDay.objects.filter(
        organisation_id=OuterRef("organisation_id"), meter_id=OuterRef("meter_id"), updated_at__gte=since
    )
    corrections = UsageCorrection.objects.filter(period=OuterRef("pk"), created_at__gte=since)
    return Q(last_reported_at__isnull=True) | Exists(events) | Exists(corrections)


def invoice_flush(*, customer_id: str, invoice: dict, now: dt.datetime | None = None) -> int:
    """Before an invoice finalises: report the usage of the periods it bills, then close them (later
    events for them are late)."""
    billed = {}
    for line in (invoice.get("lines") or {}).get("data") or []:
        item = ((line.get("parent") or {}).get("subscription_item_details") or {}).get("subscription_item")
        if item and line.get("period"):
            billed[item] = periods._when(line["period"]["end"])
    if not billed:
        return 0
    now = now or timezone.now()
    closing = UsagePeriod.objects.filter(
        customer_id=customer_id, subscription_item_id__in=list(billed), closed_at__isnull=True
    )
    closing = [p for p in closing if p.end <= billed[p.subscription_item_id]]
    for period in closing:
        period_prepare(period.pk, now=min(now, period.end))
    reports_send(period_ids=[p.pk for p in closing])
    UsagePeriod.objects.filter(pk__in=[p.pk for p in closing]).update(closed_at=now, invoice_id=invoice.get("id", ""))
    return len(closing)


def reconcile(*, now: dt.datetime | None = None, days: int = 35) -> dict[str, int]:
    """Daily: Stripe's `event_summaries` for each recent period against what we reported."""
    now = now or timezone.now()
    checked = mismatched = 0
    client = gateway()
    recent = UsagePeriod.objects.filter(end__gte=now - dt.timedelta(days=days)).select_related("meter")
    for period in recent.exclude(meter__stripe_meter_id=""):
        try:
            page = client.get(
                f"/v1/billing/meters/{period.meter.stripe_meter_id}/event_summaries",
                customer=period.customer_id,
                start_time=int(period.start.timestamp()),
                end_time=int(period.end.timestamp()),
            )
        except StripeGatewayError as error:
            log.warning("reconciliation of period %s failed: %s", period.pk, error.message)
            continue
        stripe_value = sum(int(s.get("aggregated_value") or 0) for s in page.get("data", []))
        UsagePeriod.objects.filter(pk=period.pk).update(
            stripe_value=stripe_value, our_value=period.reported_value, reconciled_at=now
        )
        checked += 1
        mismatched += stripe_value != period.reported_value
    return {"checked": checked, "mismatched": mismatched}
