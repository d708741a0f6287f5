import pytest

from billing.sql_reports.models import LibraryReport, ReportSchedule
from devtools import demo_sql_reports

pytestmark = pytest.mark.django_db


def test_the_demo_has_the_library_and_one_schedule_and_a_second_run_changes_nothing(people):
    demo_sql_reports.build()
    demo_sql_reports.build()
    assert LibraryReport.objects.count() == 8
    schedule = ReportSchedule.objects.get()
    assert schedule.query.library_entry.slug == "revenue-by-country-currency-plan"
    assert schedule.frequency == "weekly" and schedule.recipients == ["finance@example.com"]
