"""The auto-refund policy for early fraud warnings, against the sandbox: below the threshold refunded
once (however often the warning's events arrive and the task runs), above it or without a rate not."""

import datetime as dt

import pytest

from accounts.models import AuditLog
from billing.currencies.models import FxRate
from billing.risk import warnings
from billing.risk.errors import RiskError
from billing.risk.models import WarningCase, WarningOutcome
from billing.stripe.gateway import gateway
from tests.billing.risk.conftest import control
from tests.billing.risk.payloads import pull_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(people):
    FxRate.objects.create(currency="eur", quote="usd", rate="1.10", day=dt.date(2020, 1, 1), source="test")
    return warnings.policy_set(actor=people.admin, auto_refund=True, refund_below=100_00, block_card=False)


def refunds_of(charge_id: str) -> list[dict]:
    return gateway().get("/v1/refunds", charge=charge_id)["data"]


def test_below_the_threshold_refunded_once_even_when_the_event_arrives_twice(
    paying, policy, django_capture_on_commit_callbacks
):
    org, charge_id = paying(amount=80_00, currency="eur")  # 88.00 USD: below 100.00
    with django_capture_on_commit_callbacks() as sent:
        warning = control(f"/_sandbox/charges/{charge_id}/early_fraud_warning")
        pull_events()
    tasks = [cb for cb in sent if "warning_changed" in cb.__qualname__]
    assert len(tasks) == 1
    case = WarningCase.objects.get(pk=warning["id"])
    assert case.amount_reporting == 88_00 and case.outcome == WarningOutcome.pending
    # The task runs (and runs again: a duplicate message, a retried worker).
    for _ in range(3):
        case = warnings.warning_policy_apply(warning_id=warning["id"])
    assert case.outcome == WarningOutcome.refunded_by_policy and case.threshold == 100_00
    assert [r["id"] for r in refunds_of(charge_id)] == [case.refund_id]
    # The warning's update (not actionable now) arrives: nothing more happens.
    with django_capture_on_commit_callbacks() as later:
        pull_events()
    assert not [cb for cb in later if "warning_changed" in cb.__qualname__]
    assert warnings.warning_policy_apply(warning_id=warning["id"]).outcome == WarningOutcome.refunded_by_policy
    assert len(refunds_of(charge_id)) == 1
    assert AuditLog.objects.filter(action="risk.warning.auto_refund", object_id=warning["id"]).count() == 1
    assert not WarningCase.objects.get(pk=warning["id"]).actionable


def test_above_the_threshold_left_for_a_person_who_can_refund_it(paying, policy, people):
    org, charge_id = paying(amount=150_00, currency="usd")
    warning = control(f"/_sandbox/charges/{charge_id}/early_fraud_warning")
    pull_events()
    case = warnings.warning_policy_apply(warning_id=warning["id"])
    assert case.outcome == WarningOutcome.above_threshold and "$150.00" in case.note
    assert refunds_of(charge_id) == []
    import uuid

    request_id = uuid.uuid4()
    case = warnings.warning_refund(
        case=case, actor=people.admin, reason="Customer confirmed fraud", request_id=request_id
    )
    assert case.outcome == WarningOutcome.refunded_by_hand and len(refunds_of(charge_id)) == 1
    with pytest.raises(RiskError):
        warnings.warning_refund(case=case, actor=people.admin, reason="again", request_id=request_id)
    assert len(refunds_of(charge_id)) == 1


def test_no_rate_or_no_policy_refunds_nothing(paying, people, stripe_calls):
    org, charge_id = paying(amount=5000, currency="jpy")
    first = control(f"/_sandbox/charges/{charge_id}/early_fraud_warning")
    pull_events()
    assert warnings.warning_policy_apply(warning_id=first["id"]).outcome == WarningOutcome.policy_off
    warnings.policy_set(actor=people.admin, auto_refund=True, refund_below=100_00, block_card=False)
    org, charge_id = paying(amount=5000, currency="jpy")
    second = control(f"/_sandbox/charges/{charge_id}/early_fraud_warning")
    pull_events()
    stripe_calls.clear()
    case = warnings.warning_policy_apply(warning_id=second["id"])
    assert case.outcome == WarningOutcome.no_rate and "JPY" in case.note
    assert not [c for c in stripe_calls if c[0] == "POST"]


def test_block_card_with_the_refund(paying, people):
    from billing.risk.models import BlockListEntry

    warnings.policy_set(actor=people.admin, auto_refund=True, refund_below=100_00, block_card=True)
    org, charge_id = paying(amount=20_00)
    warning = control(f"/_sandbox/charges/{charge_id}/early_fraud_warning")
    pull_events()
    warnings.warning_policy_apply(warning_id=warning["id"])
    entry = BlockListEntry.objects.get()
    assert entry.kind == "card_fingerprint" and entry.sync_status == "synced" and entry.source == warning["id"]


def test_policy_needs_a_threshold(people):
    with pytest.raises(RiskError, match="threshold"):
        warnings.policy_set(actor=people.admin, auto_refund=True, refund_below=0, block_card=False)
