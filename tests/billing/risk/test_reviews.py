"""Deciding Radar reviews against the sandbox: approve, refund and block, in bulk; every decision
audited with its reason; a closed review refused before anything is sent; a double submit sent once."""

import uuid

import pytest

from accounts.models import AuditLog
from billing.risk import reviews
from billing.risk.errors import RiskError
from billing.risk.models import BlockListEntry, DecisionStatus, ReviewCase, ReviewDecision
from billing.stripe.gateway import gateway
from tests.billing.risk.conftest import control
from tests.billing.risk.payloads import next_second, pull_events

pytestmark = pytest.mark.django_db


def opened(paying, **kwargs) -> ReviewCase:
    org, charge_id = paying(**kwargs)
    next_second()
    review = control(
        f"/_sandbox/charges/{charge_id}/review", {"risk_score": 72, "ip_country": "NG", "ip_address": "102.89.1.1"}
    )
    pull_events()
    return ReviewCase.objects.get(pk=review["id"])


def test_approve_closes_it_at_stripe_once_with_the_reason_audited(paying, people, stripe_calls):
    case = opened(paying, token="pm_card_br", country="DE")
    assert case.open and case.card_country == "BR" and case.customer_country == "DE" and case.ip_country == "NG"
    assert case.risk_score == 72 and case.organisation.name.startswith("Initech")
    request_id = uuid.uuid4()
    decision = reviews.review_decide(
        review=case, kind="approve", actor=people.admin, reason="Long-standing customer", request_id=request_id
    )
    again = reviews.review_decide(review=case, kind="approve", actor=people.admin, reason="x", request_id=request_id)
    assert decision.status == DecisionStatus.done and again.pk == decision.pk
    assert [c for c in stripe_calls if c[0] == "POST" and c[1].endswith("/approve")] == [
        ("POST", f"/v1/reviews/{case.pk}/approve")
    ]
    assert gateway().get(f"/v1/reviews/{case.pk}")["closed_reason"] == "approved"
    case.refresh_from_db()
    assert not case.open and case.closed_reason == "approved"
    entry = AuditLog.objects.get(action="risk.review.approve")
    assert entry.data["reason"] == "Long-standing customer" and entry.actor == people.admin


def test_approving_a_closed_review_is_refused_and_nothing_is_sent(paying, people, stripe_calls):
    case = opened(paying)
    gateway().post(f"/v1/reviews/{case.pk}/approve", {}, idempotency_key="test:approve-elsewhere")  # the Dashboard
    pull_events()
    stripe_calls.clear()
    with pytest.raises(RiskError, match="already closed"):
        reviews.review_decide(review=case, kind="approve", actor=people.admin, reason="ok", request_id=uuid.uuid4())
    assert not [c for c in stripe_calls if c[0] == "POST"] and not ReviewDecision.objects.exists()


def test_refund_and_block_refunds_as_fraud_and_blocks_card_and_email_in_radar(paying, people):
    case = opened(paying)
    decision = reviews.review_decide(
        review=case,
        kind="refund_block",
        actor=people.admin,
        reason="Stolen card",
        request_id=uuid.uuid4(),
        block=["card_fingerprint", "email"],
    )
    assert decision.status == DecisionStatus.done, decision.error
    refunds = gateway().get("/v1/refunds", charge=case.charge_id)["data"]
    assert len(refunds) == 1 and refunds[0]["reason"] == "fraudulent"
    case.refresh_from_db()
    assert not case.open and case.closed_reason == "refunded_as_fraud"
    entries = {e.kind: e for e in BlockListEntry.objects.all()}
    assert entries["card_fingerprint"].value == case.card_fingerprint and entries["email"].value == case.email
    assert all(e.sync_status == "synced" and e.stripe_item_id for e in entries.values())
    lists = {v["alias"]: v for v in gateway().get("/v1/radar/value_lists")["data"]}
    assert lists["portal_blocked_cards"]["list_items"]["data"][0]["value"] == case.card_fingerprint
    assert AuditLog.objects.filter(action="risk.review.refund_block", object_id=case.pk).count() == 1


def test_reasons_and_choices_are_checked(paying, people):
    case = opened(paying)
    with pytest.raises(RiskError, match="Say why"):
        reviews.review_decide(review=case, kind="approve", actor=people.admin, reason=" ", request_id=uuid.uuid4())
    with pytest.raises(RiskError):
        reviews.review_decide(review=case, kind="delete", actor=people.admin, reason="x", request_id=uuid.uuid4())
    with pytest.raises(RiskError):
        reviews.review_decide(
            review=case, kind="refund_block", actor=people.admin, reason="x", request_id=uuid.uuid4(), block=["ip"]
        )


def test_bulk_decisions_are_queued_and_each_sent_once(paying, people, django_capture_on_commit_callbacks):
    cases = [opened(paying) for _ in range(3)]
    gateway().post(f"/v1/reviews/{cases[2].pk}/approve", {}, idempotency_key="test:bulk-elsewhere")
    pull_events()
    request_id = uuid.uuid4()
    with django_capture_on_commit_callbacks() as sent:
        queued, closed = reviews.reviews_decide_bulk(
            review_ids=[c.pk for c in cases], kind="approve", actor=people.admin, reason="Batch", request_id=request_id
        )
    assert (queued, closed) == (2, 1) and len(sent) == 1
    again = reviews.reviews_decide_bulk(
        review_ids=[c.pk for c in cases], kind="approve", actor=people.admin, reason="Batch", request_id=request_id
    )
    assert again == (0, 1)
    for decision in ReviewDecision.objects.all():
        reviews.decision_execute(decision_id=decision.pk)
        reviews.decision_execute(decision_id=decision.pk)  # a redelivered task
    assert set(ReviewDecision.objects.values_list("status", flat=True)) == {DecisionStatus.done}
    assert not ReviewCase.objects.filter(open=True).exists()
    assert AuditLog.objects.filter(action="risk.review.approve").count() == 2
