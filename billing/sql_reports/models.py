from __future__ import annotations

from django.conf import settings
from django.db import models


class LibraryReport(models.Model):
    """A saved query that the portal ships (`load_report_library`): support may run these, and only these."""

    slug = models.SlugField(max_length=80, unique=True)
    query = models.OneToOneField("explorer.Query", on_delete=models.CASCADE, related_name="library_entry")
    # Which SQL the query holds: "portable" (PostgreSQL and SQLite) or the vendor it was written for.
    dialect = models.CharField(max_length=20, default="portable")
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Frequency(models.TextChoices):
    daily = "daily", "Daily"
    weekly = "weekly", "Weekly (Mondays)"
    monthly = "monthly", "Monthly (the 1st)"


class ReportSchedule(models.Model):
    """A saved query run by Celery beat once per period and emailed as CSV."""

    query = models.ForeignKey("explorer.Query", on_delete=models.CASCADE, related_name="schedules")
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    recipients = models.JSONField(default=list)  # finance addresses, validated by the form and the service
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["query__title", "frequency"]

    def __str__(self) -> str:
        return f"{self.query} ({self.frequency})"


class RunStatus(models.TextChoices):
    sending = "sending", "Sending"
    sent = "sent", "Sent"
    failed = "failed", "Failed"


class ScheduledRun(models.Model):
    """One period of one schedule. Inserting it claims the period: a second beat process's insert fails."""

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="runs")
    period = models.CharField(max_length=10)  # 2026-11-26, 2026-W48 or 2026-11
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.sending)
    rows = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-claimed_at"]
        constraints = [models.UniqueConstraint(fields=["schedule", "period"], name="sql_report_run_once_per_period")]

    def __str__(self) -> str:
        return f"{self.schedule_id} {self.period} {self.status}"
