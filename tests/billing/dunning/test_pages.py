"""The dunning pages: who may see and do what, bad input, flat query counts."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog
from billing.dunning.models import Case, CaseStatus, OrganisationPause, Policy
from billing.dunning.policies import default_policy
from billing.stripe import mirror
from tests import stripe_payloads as sp
from tests.pages import login

pytestmark = pytest.mark.django_db


def a_case(org, n=0, **fields) -> Case:
    opened = timezone.now() - dt.timedelta(days=2)
    return Case.objects.create(
        invoice_id=f"in_case{n}",
        customer_id=org.stripe_customer_id,
        organisation=org,
        policy=default_policy(),
        currency="eur",
        amount_due=12_345,
        opened_at=opened,
        next_attempt_at=opened + dt.timedelta(days=3),
        invoice_number=f"ACME-{n:04d}",
        **fields,
    )


def urls(case):
    return [
        reverse("dunning:queue"),
        reverse("dunning:case", args=[case.pk]),
        reverse("dunning:policies"),
        reverse("dunning:policy", args=[case.policy.pk]),
        reverse("dunning:analytics"),
        reverse("dunning:paused"),
    ]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 302),
        ("owner", 403),
        ("member", 403),
        ("outsider", 403),
        ("support", 200),
        ("analyst", 200),
        ("admin", 200),
    ],
)
def test_finance_reads_every_dunning_page_customers_do_not(client, people, who, status):
    case = a_case(people.acme)
    login(client, getattr(people, who) if who else None)
    for url in urls(case):
        assert client.get(url).status_code == status, url


@pytest.mark.parametrize(("who", "status"), [("support", 403), ("analyst", 403), ("owner", 403), (None, 302)])
def test_only_finance_admins_change_anything(client, people, who, status):
    case = a_case(people.acme)
    login(client, getattr(people, who) if who else None)
    posts = [
        (reverse("dunning:retry", args=[case.pk]), {"request_id": str(uuid.uuid4())}),
        (reverse("dunning:pause", args=[people.acme.pk]), {"reason": "negotiating"}),
        (reverse("dunning:resume", args=[people.acme.pk]), {}),
        (reverse("dunning:policy", args=[case.policy.pk]), {"name": "x"}),
        (reverse("dunning:policy_new"), {"name": "x"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == status, url
    assert client.get(reverse("dunning:policy_new")).status_code == status
    assert not OrganisationPause.objects.exists() and Policy.objects.count() == 1


def test_the_queue_filters_exports_and_keeps_its_query_count_flat(client, people):
    login(client, people.analyst)
    a_case(people.acme, 0, status=CaseStatus.recovered)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("dunning:queue")).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for n in range(1, 30):
        a_case(people.acme if n % 2 else people.globex, n)
    assert queries() == few
    page = client.get(reverse("dunning:queue"), {"status": "recovered"}).content.decode()
    assert "ACME-0000" in page and "ACME-0003" not in page
    csv = b"".join(client.get(reverse("dunning:queue"), {"format": "csv"}).streaming_content).decode()
    assert csv.count("\n") == 31 and "in_case7" in csv
    assert AuditLog.objects.filter(action="dunning.export").exists()
    bad = client.get(reverse("dunning:queue"), {"status": "nonsense"})
    assert bad.status_code == 200 and "ACME-" not in bad.content.decode().split("<tbody>")[1]


def test_pause_and_resume_an_organisation_from_a_case(client, people):
    case = a_case(people.acme)
    login(client, people.admin)
    response = client.post(reverse("dunning:pause", args=[people.acme.pk]), {"reason": "", "case": case.pk})
    assert response.status_code == 302 and not OrganisationPause.objects.exists()  # a reason is required
    client.post(reverse("dunning:pause", args=[people.acme.pk]), {"reason": "CFO negotiating", "case": case.pk})
    case.refresh_from_db()
    assert case.status == CaseStatus.paused
    page = client.get(reverse("dunning:case", args=[case.pk])).content.decode()
    assert "Dunning is paused for Acme" in page and "CFO negotiating" in page
    client.post(reverse("dunning:resume", args=[people.acme.pk]), {"case": case.pk})
    case.refresh_from_db()
    assert case.status == CaseStatus.scheduled and not OrganisationPause.objects.exists()
    assert list(AuditLog.objects.filter(action__startswith="dunning.").values_list("action", flat=True)) == [
        "dunning.resume",
        "dunning.pause",
    ]


def test_retry_of_a_paid_invoice_or_one_in_flight_says_why_and_charges_nothing(client, people, stripe_calls):
    mirror.apply_event(sp.event(sp.customer("cus_acme"), "customer.created", created=1_760_000_000))
    paid = sp.invoice("in_case0", customer_id="cus_acme", status="paid")
    mirror.apply_event(sp.event(paid, "invoice.paid", created=1_760_000_001))
    case = a_case(people.acme)
    login(client, people.admin)
    response = client.post(reverse("dunning:retry", args=[case.pk]), {"request_id": str(uuid.uuid4())}, follow=True)
    assert "is paid: there is nothing to collect" in response.content.decode()
    assert not case.attempts.exists() and stripe_calls == []


def test_policy_form_refuses_bad_schedules_and_clashing_priorities(client, people):
    login(client, people.admin)
    default_policy()
    Policy.objects.create(name="Enterprise", priority=10)
    base = {"name": "Cards", "priority": "20", "max_attempts": "3", "final_action": "leave_open", "active": "on"}
    cases = [
        ({}, "at least one step"),
        ({"step-0-day": "5", "step-1-day": "3"}, "must be in order"),
        ({"step-0-day": "-2"}, "no zero or negative days"),
        ({"step-0-day": "abc"}, "not a whole number"),
        ({"step-0-day": "1", "priority": "10"}, "already used by “Enterprise”"),
        ({"step-0-day": "1", "amount_min": "100"}, "needs a currency"),
        ({"step-0-day": "1", "currency": "eur", "amount_min": "500", "amount_max": "100"}, "above the maximum"),
    ]
    for extra, message in cases:
        response = client.post(reverse("dunning:policy_new"), {**base, **extra})
        assert response.status_code == 200 and message in response.content.decode(), message
    assert Policy.objects.count() == 2
    response = client.post(
        reverse("dunning:policy_new"),
        {**base, "step-0-day": "1", "step-1-day": "4", "currency": "eur", "amount_min": "50", "method_types": ["card"]},
    )
    assert response.status_code == 302
    created = Policy.objects.get(name="Cards")
    assert list(created.steps.values_list("day", flat=True)) == [1, 4] and created.amount_min == 5000
    assert AuditLog.objects.filter(action="dunning.policy.create").exists()
