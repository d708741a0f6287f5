"""Scheduled reports: validated recipients, CSV by email, once per period even with two beat processes."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connections
from django.urls import reverse
from explorer.models import Query

from billing.sql_reports.library import ensure_connection
from billing.sql_reports.models import ReportSchedule, ScheduledRun
from billing.sql_reports.schedules import clean_recipients, period_of, schedule_create, schedules_send_due

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "reports"])]
NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def schedule(reports_db, people):
    query = Query.objects.create(
        title="Organisations by country",
        sql="SELECT country, COUNT(*) AS n FROM accounts_organisation GROUP BY country ORDER BY country",
        database_connection=ensure_connection(),
    )
    return schedule_create(
        query=query, frequency="daily", recipients="cfo@example.com, ap@example.com", actor=people.analyst
    )


def test_periods():
    assert period_of("daily", NOW) == "2026-11-26"
    assert period_of("weekly", NOW) == "2026-W48"
    assert period_of("monthly", NOW) == "2026-11"


def test_recipients_are_validated():
    assert clean_recipients("A@example.com\nb@example.com, a@example.com") == ["a@example.com", "b@example.com"]
    with pytest.raises(ValidationError, match="not-an-address is not an email address"):
        clean_recipients("cfo@example.com not-an-address")
    with pytest.raises(ValidationError, match="at least one"):
        clean_recipients(" ")
    with pytest.raises(ValidationError, match="At most 20"):
        clean_recipients(" ".join(f"p{n}@example.com" for n in range(21)))


def test_sent_once_per_period_with_the_csv_attached(schedule):
    assert schedules_send_due(now=NOW) == 1
    assert schedules_send_due(now=NOW + dt.timedelta(hours=5)) == 0  # same day
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["cfo@example.com", "ap@example.com"]
    name, content, mimetype = message.attachments[0]
    assert name == "organisations-by-country-2026-11-26.csv" and mimetype == "text/csv"
    assert (content if isinstance(content, str) else content.decode()).splitlines() == ["country,n", "DE,1", "US,1"]
    assert schedules_send_due(now=NOW + dt.timedelta(days=1)) == 1  # the next day
    assert ScheduledRun.objects.filter(schedule=schedule, status="sent").count() == 2


def test_two_beat_processes_at_once_send_it_once(schedule):
    barrier = threading.Barrier(2)
    sent = []

    def beat():
        barrier.wait()
        try:
            sent.append(schedules_send_due(now=NOW))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(sent) == [0, 1]
    assert len(mail.outbox) == 1
    assert ScheduledRun.objects.filter(schedule=schedule).count() == 1


def test_a_failing_report_is_recorded_not_resent(schedule):
    Query.objects.filter(pk=schedule.query_id).update(sql="SELECT nope FROM accounts_organisation")
    assert schedules_send_due(now=NOW) == 0
    run = ScheduledRun.objects.get(schedule=schedule)
    assert run.status == "failed" and "nope" in run.error
    assert mail.outbox == []


def test_the_schedules_page(client, people, schedule):
    client.force_login(people.analyst)
    page = client.get(reverse("sql_reports:schedules"))
    assert page.status_code == 200 and b"cfo@example.com" in page.content
    bad = client.post(
        reverse("sql_reports:schedules"), {"query": schedule.query_id, "frequency": "weekly", "recipients": "nobody"}
    )
    assert bad.status_code == 400 and b"nobody is not an email address" in bad.content
    good = client.post(
        reverse("sql_reports:schedules"),
        {"query": schedule.query_id, "frequency": "weekly", "recipients": "cfo@example.com"},
    )
    assert good.status_code == 302 and ReportSchedule.objects.filter(frequency="weekly").exists()
    client.force_login(people.support)
    assert b"Schedule a report" not in client.get(reverse("sql_reports:schedules")).content
    assert client.post(reverse("sql_reports:schedule_stop", args=[schedule.pk])).status_code == 403
    client.force_login(people.owner)
    assert client.get(reverse("sql_reports:schedules")).status_code == 403


def test_the_beat_task_sends_what_is_due(schedule):
    from billing.sql_reports.tasks import send_due_schedules

    assert send_due_schedules.run() == 1
    assert send_due_schedules.run() == 0
    assert len(mail.outbox) == 1
