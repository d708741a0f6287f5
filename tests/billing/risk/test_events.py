"""Events of each type keep the cases right: created, updated, closed; duplicated and out of order;
a case whose charge or customer arrives later fills in when it does."""

import pytest
from django.db import transaction

from accounts.models import Organisation
from billing.risk.models import DisputeCase, ReviewCase, WarningCase, WarningOutcome
from billing.stripe import mirror
from tests import stripe_payloads as sp
from tests.billing.risk.payloads import charge, deliver, dispute, review, warning

pytestmark = pytest.mark.django_db

T = 1_760_000_000


@pytest.fixture
def acme(db):
    org = Organisation.objects.create(
        name="Acme", slug="acme", country="DE", billing_email="billing@acme.example", stripe_customer_id="cus_acme"
    )
    mirror.apply_event(sp.event(sp.customer("cus_acme", email="billing@acme.example"), "customer.created", created=T))
    return org


def test_a_review_opens_then_closes_and_duplicates_change_nothing(acme):
    deliver(charge("ch_1"), "charge.succeeded", T)
    opened = deliver(review("prv_1", charge_id="ch_1"), "review.opened", T + 1)
    case = ReviewCase.objects.get()
    assert case.open and case.organisation == acme and case.amount == 5000 and case.risk_score == 70
    assert (case.card_country, case.customer_country, case.ip_country) == ("US", "DE", "NG") and case.countries_differ
    assert case.email_domain == "acme.example" and case.rule == ":risk_score: > 65"
    closed = review("prv_1", charge_id="ch_1", open=False, closed_reason="approved")
    deliver(closed, "review.closed", T + 60)
    deliver(closed, "review.closed", T + 60)  # Stripe delivers it again under another id
    deliver(review("prv_1", charge_id="ch_1"), "review.opened", T + 1, event_id=opened)  # the same event again
    case = ReviewCase.objects.get()
    assert not case.open and case.closed_reason == "approved" and case.closed_at is not None


def test_a_review_closed_before_its_opening_event_arrives_stays_closed(acme):
    deliver(review("prv_2", charge_id="ch_2", open=False, closed_reason="refunded_as_fraud"), "review.closed", T + 90)
    deliver(review("prv_2", charge_id="ch_2"), "review.opened", T + 1)  # late
    case = ReviewCase.objects.get()
    assert not case.open and case.closed_reason == "refunded_as_fraud"
    assert case.amount == 0 and case.customer_id is None  # the charge has not arrived yet
    deliver(charge("ch_2", amount=12_000, currency="eur"), "charge.succeeded", T)  # arrives last
    case.refresh_from_db()
    assert (case.amount, case.currency, case.customer_id, case.organisation) == (12_000, "eur", "cus_acme", acme)


def test_the_customers_details_fill_in_when_the_customer_arrives_after(db):
    deliver(charge("ch_3", customer="cus_late"), "charge.succeeded", T)
    deliver(review("prv_3", charge_id="ch_3"), "review.opened", T + 1)
    assert ReviewCase.objects.get().customer_country == ""
    deliver(sp.customer("cus_late", email="pay@late.example", country="FR"), "customer.created", T + 5)
    case = ReviewCase.objects.get()
    assert (case.customer_country, case.email_domain) == ("FR", "late.example")


def test_early_fraud_warnings_created_updated_and_out_of_order(acme, django_capture_on_commit_callbacks):
    deliver(charge("ch_4", amount=900), "charge.succeeded", T)
    with django_capture_on_commit_callbacks() as sent:
        deliver(warning("issfr_1", charge_id="ch_4", actionable=False), "radar.early_fraud_warning.updated", T + 30)
        deliver(warning("issfr_1", charge_id="ch_4"), "radar.early_fraud_warning.created", T + 2)  # late
    case = WarningCase.objects.get()
    assert not case.actionable and case.amount == 900 and case.outcome == WarningOutcome.pending
    handed = [cb for cb in sent if "warning_changed" in cb.__qualname__]
    assert len(handed) == 2  # each event hands the warning to the policy task (which acts once)


def test_a_dispute_through_its_life_in_any_order(acme):
    deliver(charge("ch_5", amount=7500, disputed=True), "charge.succeeded", T)
    created = dispute("dp_1", charge_id="ch_5", amount=7500)
    updated = dispute("dp_1", charge_id="ch_5", amount=7500, status="under_review", submissions=1)
    won = dispute("dp_1", charge_id="ch_5", amount=7500, status="won", submissions=1)
    deliver(won, "charge.dispute.closed", T + 300)
    deliver(created, "charge.dispute.created", T + 10)
    deliver(updated, "charge.dispute.updated", T + 200)
    deliver(won, "charge.dispute.funds_reinstated", T + 300)
    deliver(won, "charge.dispute.closed", T + 300)
    case = DisputeCase.objects.get()
    assert (case.status, case.submission_count, case.amount, case.country) == ("won", 1, 7500, "DE")
    assert case.closed_at is not None and case.organisation == acme and case.due_by is not None


def test_a_dispute_in_order(acme):
    deliver(charge("ch_6", currency="jpy", amount=3000), "charge.succeeded", T)
    deliver(dispute("dp_2", charge_id="ch_6", currency="jpy", amount=3000), "charge.dispute.created", T + 10)
    assert DisputeCase.objects.get().needs_response
    deliver(
        dispute("dp_2", charge_id="ch_6", currency="jpy", amount=3000, status="under_review", submissions=1),
        "charge.dispute.updated",
        T + 20,
    )
    assert DisputeCase.objects.get().status == "under_review"
    lost = dispute("dp_2", charge_id="ch_6", currency="jpy", amount=3000, status="lost", submissions=1)
    deliver(lost, "charge.dispute.closed", T + 30)
    case = DisputeCase.objects.get()
    assert case.status == "lost" and case.is_closed and case.amount_reporting is None  # no JPY rate


def test_a_receiver_failure_leaves_nothing_half_written(acme, monkeypatch):
    from billing.risk import cases
    from billing.stripe.models import StripeEvent

    deliver(charge("ch_7"), "charge.succeeded", T)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cases, "review_refresh", broken)
    with transaction.atomic():
        event_id = deliver(review("prv_7", charge_id="ch_7"), "review.opened", T + 1)
    assert StripeEvent.objects.get(pk=event_id).status == "failed" and not ReviewCase.objects.exists()


def test_rebuild_makes_cases_for_what_the_mirror_got_without_events(acme):
    from io import StringIO

    from django.core.management import call_command

    for obj in (charge("ch_8"), review("prv_8", charge_id="ch_8"), warning("issfr_8", charge_id="ch_8")):
        mirror.apply_object(obj)  # as a backfill writes: no event, no receiver
    mirror.apply_object(dispute("dp_8", charge_id="ch_8"))
    assert not ReviewCase.objects.exists()
    out = StringIO()
    call_command("risk_rebuild", stdout=out)
    assert "1 reviews, 1 disputes, 1 early fraud warnings" in out.getvalue()
    assert ReviewCase.objects.get().organisation == acme and DisputeCase.objects.get().needs_response
    assert WarningCase.objects.get().outcome == WarningOutcome.policy_off  # never refunded by a rebuild
