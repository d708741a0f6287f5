"""Scheduled reports: a saved query run once per period by Celery beat and emailed as CSV."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit
from billing.sql_reports.guard import RefusedQuery, ReportsBusy, acting_as
from billing.sql_reports.models import Frequency, ReportSchedule, RunStatus, ScheduledRun
from billing.ui.csv import csv_lines

logger = logging.getLogger(__name__)
MAX_RECIPIENTS = 20


def clean_recipients(text: str | list[str]) -> list[str]:
    """Addresses separated by commas, spaces or lines: each valid, at most 20, no repeats."""
    items = text if isinstance(text, list) else text.replace(",", " ").split()
    addresses: list[str] = []
    for item in (i.strip().lower() for i in items):
        if not item or item in addresses:
            continue
        try:
            validate_email(item)
        except ValidationError:
            raise ValidationError(f"{item} is not an email address") from None
        addresses.append(item)
    if not addresses:
        raise ValidationError("Give at least one address to send the report to")
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationError(f"At most {MAX_RECIPIENTS} addresses")
    return addresses


def period_of(frequency: str, now: dt.datetime) -> str:
    """The period `now` falls in (UTC): a schedule is sent once in each."""
    day = now.astimezone(dt.UTC).date()
    if frequency == Frequency.daily:
        return day.isoformat()
    if frequency == Frequency.weekly:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day:%Y-%m}"


@transaction.atomic
def schedule_create(*, query, frequency: str, recipients, actor) -> ReportSchedule:
    if frequency not in Frequency.values:
        raise ValidationError("Choose daily, weekly or monthly")
    schedule = ReportSchedule.objects.create(
        query=query, frequency=frequency, recipients=clean_recipients(recipients), created_by=actor
    )
    audit(actor, "sql_report.schedule_created", schedule, query_id=query.pk, frequency=frequency,
          recipients=schedule.recipients)  # fmt: skip
    return schedule


@transaction.atomic
def schedule_stop(*, schedule: ReportSchedule, actor) -> None:
    schedule.active = False
    schedule.save(update_fields=["active"])
    audit(actor, "sql_report.schedule_stopped", schedule, query_id=schedule.query_id)


def claim(schedule: ReportSchedule, period: str) -> ScheduledRun | None:
    """Insert the (schedule, period) row; whoever inserts it sends. None: someone already has."""
    try:
        with transaction.atomic():
            return ScheduledRun.objects.create(schedule=schedule, period=period)
    except IntegrityError:
        return None


def run_send(run: ScheduledRun) -> ScheduledRun | None:
    """Run and mail one claimed period. None: every report slot stayed busy, the claim is given back."""
    schedule = run.schedule
    query = schedule.query
    query.params = {}
    try:
        with acting_as(schedule.created_by, origin="schedule"):
            result = query.execute_query_only()
    except ReportsBusy:
        run.delete()  # nothing was sent: beat's next tick claims the period again
        return None
    except RefusedQuery as refusal:
        run.status, run.error = RunStatus.failed, str(refusal)
        run.save(update_fields=["status", "error"])
        return run
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in query.title.lower()).strip("-") or "report"
    message = EmailMessage(
        subject=f"{query.title} ({schedule.get_frequency_display().split(' ')[0].lower()}, {run.period})",
        body=(
            f"{query.description or query.title}\n\n{len(result.data)} rows attached as CSV.\n"
            f"Open it in the portal: {settings.PORTAL_BASE_URL}/reports/sql/{query.pk}/\n"
        ),
        to=schedule.recipients,
    )
    attachment = "".join(csv_lines(result.headers, result.data, bom=False)).encode("utf-8")
    message.attach(f"{name}-{run.period}.csv", attachment, "text/csv")
    message.send()
    run.status, run.rows, run.sent_at = RunStatus.sent, len(result.data), timezone.now()
    run.save(update_fields=["status", "rows", "sent_at"])
    audit(None, "sql_report.schedule_sent", schedule, period=run.period, rows=run.rows, recipients=schedule.recipients)
    return run


def schedules_send_due(*, now: dt.datetime | None = None) -> int:
    """Send every active schedule not yet sent this period. Two beat processes at once send each once."""
    now = now or timezone.now()
    sent = 0
    for schedule in ReportSchedule.objects.filter(active=True).select_related("query", "created_by"):
        run = claim(schedule, period_of(schedule.frequency, now))
        if run is None:
            continue
        try:
            run = run_send(run)
            if run is None:
                continue
        except Exception as error:  # noqa: BLE001  (mail server down: recorded, the period is not re-sent)
            logger.exception("scheduled report %s failed", schedule.pk)
            ScheduledRun.objects.filter(pk=run.pk).update(status=RunStatus.failed, error=str(error)[:2000])
            continue
        sent += run.status == RunStatus.sent
    return sent
