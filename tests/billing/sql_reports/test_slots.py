"""Report slots: at most REPORTS_MAX_RUNNING reports run at once on the database, so analysts cannot take
every core the webhook intake needs; a run that finds no slot is refused with the reason, a scheduled one
is tried again at beat's next tick."""

import contextlib
import datetime as dt

import psycopg
import pytest
from django.core import mail
from django.db import connection, connections
from django.urls import reverse
from explorer.models import Query

from accounts.models import AuditLog
from billing.sql_reports.guard import SLOT_CLASS, RefusedQuery, ReportsBusy
from billing.sql_reports.library import ensure_connection
from billing.sql_reports.models import ScheduledRun
from billing.sql_reports.schedules import schedule_create, schedules_send_due
from tests.billing.sql_reports.conftest import run

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=["default", "reports"]),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="slots are PostgreSQL advisory locks"),
]
SQL = "SELECT name FROM accounts_organisation ORDER BY name"


@pytest.fixture
def one_slot(reports_db, settings):
    settings.REPORTS_MAX_RUNNING = 1
    settings.REPORTS_SLOT_WAIT_SECONDS = 0
    settings.REPORTS_SCHEDULED_SLOT_WAIT_SECONDS = 0


@contextlib.contextmanager
def another_report_running():
    """A second session (another web or Celery process) holding slot 0."""
    db = connections["default"].settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s, 0)", [SLOT_CLASS]).fetchone()[0]
        yield


def slot_is_free() -> bool:
    with another_report_running():
        return True


def test_a_run_finding_every_slot_taken_is_refused_with_the_reason(one_slot, people):
    busy = "1 report is already running, the most the database runs at once"
    with another_report_running(), pytest.raises(ReportsBusy, match=busy):
        run(SQL, user=people.analyst)
    entry = AuditLog.objects.filter(action="sql_report.busy").latest("pk")
    assert entry.actor == people.analyst and entry.data["sql"] == SQL
    assert "Acme" in [row[0] for row in run(SQL).data]  # the slot is free again: it runs


def test_the_slot_is_given_back_after_a_run_and_after_a_failure(one_slot):
    run(SQL)
    assert slot_is_free()
    with pytest.raises(RefusedQuery, match="ran longer than 2 s"):
        run("SELECT pg_sleep(600)")
    assert slot_is_free()


def test_two_slots_let_a_second_report_run(one_slot, settings, people):
    settings.REPORTS_MAX_RUNNING = 2
    with another_report_running():
        assert "Acme" in [row[0] for row in run(SQL).data]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT pg_try_advisory_lock(20560, 0)",
        "SELECT pg_advisory_unlock_all()",
        "SELECT pg_advisory_lock_shared(20560, 1)",
    ],
)
def test_analysts_sql_cannot_take_or_free_slots(one_slot, sql):
    with pytest.raises(RefusedQuery, match=r"The function pg_\w+\(\) is not open to reports"):
        run(sql)


def test_a_scheduled_report_finding_no_slot_is_sent_at_the_next_tick(one_slot, people):
    query = Query.objects.create(title="Organisations", sql=SQL, database_connection=ensure_connection())
    schedule = schedule_create(query=query, frequency="daily", recipients="cfo@example.com", actor=people.analyst)
    now = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)
    with another_report_running():
        assert schedules_send_due(now=now) == 0
    assert not ScheduledRun.objects.filter(schedule=schedule).exists() and mail.outbox == []
    assert schedules_send_due(now=now + dt.timedelta(minutes=5)) == 1
    assert len(mail.outbox) == 1


def test_the_workspace_says_why_and_an_export_is_a_400(one_slot, client, people):
    client.force_login(people.analyst)
    with another_report_running():
        page = client.post(reverse("explorer_playground"), {"sql": SQL})
        export = client.post(reverse("download_sql") + "?format=csv", {"sql": SQL})
    assert (
        page.status_code == 200 and b"1 report is already running, the most the database runs at once" in page.content
    )
    assert export.status_code == 400 and b"Run it again in a moment" in export.content
