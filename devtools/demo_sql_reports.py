"""SQL reports in the demo: the finance library loaded (and, on PostgreSQL, the read-only role made),
and one schedule: revenue by country, currency and plan, weekly to the finance inbox. A second run
changes nothing."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from billing.sql_reports.library import library_load
from billing.sql_reports.models import LibraryReport, ReportSchedule
from billing.sql_reports.roles import reports_role_setup
from billing.sql_reports.schedules import schedule_create


def build() -> None:
    reports_role_setup()
    library_load()
    query = LibraryReport.objects.get(slug="revenue-by-country-currency-plan").query
    if ReportSchedule.objects.filter(query=query).exists():
        return
    analyst = get_user_model().objects.filter(username="finance-analyst").first()
    schedule_create(query=query, frequency="weekly", recipients="finance@example.com", actor=analyst)
