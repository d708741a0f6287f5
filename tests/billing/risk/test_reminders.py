"""Reminders by email at 7, 3 and 1 days before a dispute's evidence is due, with time frozen: each
sent once, none for disputes already answered or past due, again for a moved due date."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from billing.risk import reminders
from billing.risk.models import DisputeCase, DisputeReminder
from tests.pages import mirror_customer

pytestmark = pytest.mark.django_db

DUE = dt.datetime(2026, 6, 20, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen(monkeypatch):
    """`frozen(moment)` stops the clock the reminders read at `moment`."""

    def freeze(moment: dt.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return freeze


@pytest.fixture
def case(people):
    mirror_customer("cus_acme")
    return DisputeCase.objects.create(
        dispute_id="dp_remind",
        customer_id="cus_acme",
        status="needs_response",
        reason="fraudulent",
        amount=12_345,
        currency="eur",
        due_by=DUE,
        created_at=DUE - dt.timedelta(days=14),
    )


def run_at(frozen, moment: dt.datetime) -> list[str]:
    frozen(moment)
    before = len(mail.outbox)
    reminders.dispute_reminders_send()
    return [m.subject for m in mail.outbox[before:]]


def test_reminders_at_seven_three_and_one_days_each_once(frozen, case, people, settings):
    settings.PORTAL_BASE_URL = "https://billing.example"
    timeline = [
        (DUE - dt.timedelta(days=8), []),
        (DUE - dt.timedelta(days=7, minutes=-1), ["7 days"]),
        (DUE - dt.timedelta(days=6), []),
        (DUE - dt.timedelta(days=5), []),
        (DUE - dt.timedelta(days=3, minutes=-1), ["3 days"]),
        (DUE - dt.timedelta(days=2), []),
        (DUE - dt.timedelta(hours=23), ["23 hours"]),
        (DUE - dt.timedelta(hours=2), []),
        (DUE + dt.timedelta(hours=1), []),
    ]
    for moment, expected in timeline:
        sent = run_at(frozen, moment)
        assert len(sent) == len(expected), (moment, sent)
        for subject, fragment in zip(sent, expected, strict=True):
            assert fragment in subject and "Acme" in subject and "€123.45" in subject
    assert list(DisputeReminder.objects.order_by("sent_at").values_list("days_before", flat=True)) == [7, 3, 1]
    first = mail.outbox[0]
    assert first.to == ["finance-admin@example.com"]
    assert "https://billing.example/risk/disputes/dp_remind/" in first.body


def test_a_dispute_met_late_gets_the_tightest_reminder_only(frozen, case):
    assert run_at(frozen, DUE - dt.timedelta(days=2)) and DisputeReminder.objects.get().days_before == 3


def test_answered_or_closed_disputes_get_none(frozen, case):
    for status in ("under_review", "won", "lost"):
        DisputeCase.objects.filter(pk=case.pk).update(status=status)
        assert run_at(frozen, DUE - dt.timedelta(hours=20)) == []


def test_a_moved_due_date_reminds_again(frozen, case):
    assert run_at(frozen, DUE - dt.timedelta(hours=20))
    DisputeCase.objects.filter(pk=case.pk).update(due_by=DUE + dt.timedelta(hours=6))
    assert run_at(frozen, DUE - dt.timedelta(hours=10))


def test_recipients_from_the_setting_when_set(frozen, case, settings):
    settings.PORTAL_RISK_EMAILS = ["disputes@company.example"]
    run_at(frozen, DUE - dt.timedelta(days=1))
    assert mail.outbox[-1].to == ["disputes@company.example"]


def test_a_failed_send_is_tried_again_next_run(frozen, case, people, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(reminders, "send_mail", broken)
    with pytest.raises(ConnectionRefusedError):
        run_at(frozen, DUE - dt.timedelta(days=1))
    assert not DisputeReminder.objects.exists()
    monkeypatch.undo()
    assert run_at(frozen, DUE - dt.timedelta(days=1))
