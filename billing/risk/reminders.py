"""Reminders by email at 7, 3 and 1 days before a dispute's evidence is due (Celery beat, hourly).

Each (dispute, threshold, due date) is sent once: the row is written in the same transaction as the
mail is handed over, so a failed send is tried again next hour and a repeated run sends nothing.
A dispute met late (5 days left) gets the reminder of the tightest threshold it is within (7)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffProfile, StaffRole
from billing.money import format_money
from billing.risk.models import NEEDS_RESPONSE, DisputeCase, DisputeReminder

log = logging.getLogger(__name__)
REMINDER_DAYS = (1, 3, 7)


def recipients() -> list[str]:
    if settings.PORTAL_RISK_EMAILS:
        return list(settings.PORTAL_RISK_EMAILS)
    return sorted(
        {
            p.user.email
            for p in StaffProfile.objects.filter(role=StaffRole.admin, user__is_active=True).select_related("user")
            if p.user.email
        }
    )


def time_left(left: dt.timedelta) -> str:
    hours = left.total_seconds() / 3600
    return f"{round(hours)} hours" if hours < 47.5 else f"{round(hours / 24)} days"


def threshold_for(left: dt.timedelta) -> int | None:
    return next((days for days in REMINDER_DAYS if left <= dt.timedelta(days=days)), None)


def dispute_reminders_send(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    soon = DisputeCase.objects.filter(
        status__in=NEEDS_RESPONSE, due_by__gt=now, due_by__lte=now + dt.timedelta(days=max(REMINDER_DAYS))
    ).select_related("customer__organisation")
    to = recipients()
    if not to:
        log.warning("dispute reminders: no finance admin has an email address and PORTAL_RISK_EMAILS is unset")
        return 0
    sent = 0
    for case in soon:
        days = threshold_for(case.due_by - now)
        if days is None or DisputeReminder.objects.filter(dispute=case, days_before=days, due_by=case.due_by).exists():
            continue
        try:
            with transaction.atomic():
                DisputeReminder.objects.create(
                    dispute=case, days_before=days, due_by=case.due_by, recipients=", ".join(to), sent_at=now
                )
                _send(case, days, to, now)
        except IntegrityError:
            continue  # another run sent it a moment ago
        sent += 1
    return sent


def _send(case: DisputeCase, days: int, to: list[str], now: dt.datetime) -> None:
    who = case.organisation.name if case.organisation else (case.customer_id or "a customer")
    amount = format_money(case.amount, case.currency)
    left = time_left(case.due_by - now)
    url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("risk:dispute", args=[case.pk])
    subject = f"Dispute evidence due in {left}: {who}, {amount} ({case.reason.replace('_', ' ')})"
    body = (
        f"The evidence for dispute {case.dispute_id} is due {case.due_by:%Y-%m-%d %H:%M} UTC ({left} from now).\n\n"
        f"Customer: {who}\nAmount: {amount}\nReason: {case.reason.replace('_', ' ')}\n"
        f"Evidence staged: {'yes' if case.has_evidence else 'not yet'}\n\n"
        f"Work it here: {url}\n\n"
        f"Without evidence by the due date the bank decides for the cardholder. "
        f"This is the {days}-day reminder.\n"
    )
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
