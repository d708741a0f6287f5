"""Duplicate and out-of-order events change nothing; policies match by segment, method and amount;
final actions; a 429 from Stripe backs off without losing or repeating the attempt."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Organisation
from billing.dunning import engine, services
from billing.dunning.models import Attempt, AttemptStatus, Case, CaseStatus, FinalAction, Policy, Restriction
from billing.dunning.policies import InvoiceFacts, default_policy, policy_for, policy_save
from billing.dunning.signals import dunning_exhausted
from billing.stripe import processing
from billing.stripe.errors import PaymentDeclined, StripeUnavailable
from billing.stripe.models import StripeEvent
from tests import stripe_payloads as sp

pytestmark = pytest.mark.django_db


def deliver(evt: dict) -> None:
    StripeEvent.objects.get_or_create(
        id=evt["id"],
        defaults={
            "type": evt["type"],
            "created": dt.datetime.fromtimestamp(evt["created"], dt.UTC),
            "object_type": "invoice",
            "object_id": evt["data"]["object"]["id"],
            "payload": evt,
        },
    )
    StripeEvent.objects.filter(pk=evt["id"]).update(status="received")
    processing.events_process(event_ids=[evt["id"]])


@pytest.fixture
def acme(people, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    deliver(sp.event(sp.customer("cus_acme"), "customer.created", created=1_760_000_000))
    return people.acme


def failed(n=1, created=1_760_000_100, **kw):
    return sp.event(sp.invoice("in_1", attempt_count=n, **kw), "invoice.payment_failed", created=created)


def paid(created=1_760_000_200):
    return sp.event(sp.invoice("in_1", status="paid", attempt_count=2), "invoice.paid", created=created)


def test_a_duplicate_payment_failed_opens_one_case_and_one_email(acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = failed()
        deliver(first)
        deliver(first)  # the same event again (a redelivery): already applied, skipped
        deliver(failed(n=1, created=1_760_000_101))  # another event id, same failure
    case = Case.objects.get()
    assert case.status == CaseStatus.scheduled and case.emails.count() == 1 and case.events.count() == 1
    ours = [c for c in callbacks if c.__module__.startswith("billing.dunning")]
    assert len(ours) == 2  # one email, one "turn Stripe's retries off"


def test_payment_failed_arriving_after_paid_opens_nothing(acme):
    deliver(paid())
    deliver(failed(created=1_760_000_100))  # older, late
    assert not Case.objects.exists()


def test_paid_then_duplicate_paid_and_a_late_failure_leave_the_case_recovered_once(acme):
    deliver(failed())
    deliver(paid())
    deliver(paid())
    deliver(failed(n=2, created=1_760_000_150))  # out of order: older than the paid state
    case = Case.objects.get()
    assert case.status == CaseStatus.recovered and case.resolution == "out_of_band"  # paid with no payment listed
    assert case.events.filter(kind="recovered").count() == 1 and case.emails.filter(kind="recovered").count() == 1


def test_voided_stops_the_case(acme):
    deliver(failed())
    deliver(sp.event(sp.invoice("in_1", status="void"), "invoice.voided", created=1_760_000_300))
    case = Case.objects.get()
    assert (case.status, case.resolution) == (CaseStatus.stopped, "voided")


def test_policies_match_by_segment_method_and_amount_in_priority_order():
    default = default_policy()
    big_cards = Policy.objects.create(
        name="Big card invoices", priority=10, method_types=["card"], currency="usd", amount_min=100_000
    )
    enterprise = Policy.objects.create(name="Enterprise", priority=20, segment="enterprise")
    debits = Policy.objects.create(name="Debits", priority=30, method_types=["us_bank_account", "sepa_debit"])
    Policy.objects.create(name="Off", priority=5, active=False)
    card = InvoiceFacts(segment="self_serve", currency="usd", amount=250_000, method_type="card")
    assert policy_for(card) == big_cards
    assert (
        policy_for(InvoiceFacts(segment="enterprise", currency="usd", amount=250_000, method_type="card")) == big_cards
    )
    assert (
        policy_for(InvoiceFacts(segment="enterprise", currency="usd", amount=9_000, method_type="card")) == enterprise
    )
    assert (
        policy_for(InvoiceFacts(segment="self_serve", currency="eur", amount=9_000, method_type="sepa_debit")) == debits
    )
    assert policy_for(InvoiceFacts(segment="self_serve", currency="eur", amount=9_000, method_type="card")) == default
    assert policy_for(InvoiceFacts(segment="self_serve", currency="jpy", amount=250_000, method_type="card")) == default


def due_case(org, policy, **fields) -> Case:
    opened = timezone.now() - dt.timedelta(days=10)
    return Case.objects.create(
        invoice_id="in_1",
        customer_id="cus_acme",
        organisation=org,
        policy=policy,
        currency="usd",
        amount_due=4375,
        opened_at=opened,
        next_attempt_at=opened + dt.timedelta(days=1),
        **fields,
    )


class FakeGateway:
    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def post(self, path, params=None, *, idempotency_key):
        self.calls.append((path, idempotency_key))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get(self, path, **params):
        return sp.invoice("in_1", attempt_count=3)


def declined(code="generic_decline"):
    return PaymentDeclined("Your card was declined.", http_status=402, code="card_declined", decline_code=code)


def one_step_policy(final_action):
    policy = default_policy()
    return policy_save(
        instance=policy,
        data={"name": "Default", "priority": 1000, "max_attempts": 5, "final_action": final_action},
        steps=[(1, None), (3, None)],
        actor=None,
    )


@pytest.mark.parametrize("final_action", [FinalAction.mark_uncollectible, FinalAction.cancel_subscription])
def test_the_last_failed_step_runs_the_final_action_and_signals_exhausted(
    acme, monkeypatch, final_action, django_capture_on_commit_callbacks
):
    deliver(failed())
    policy = one_step_policy(final_action)
    case = due_case(acme, policy, subscription_id="sub_acme") if not Case.objects.exists() else Case.objects.get()
    Case.objects.filter(pk=case.pk).update(
        opened_at=timezone.now() - dt.timedelta(days=10),
        policy=policy,
        next_attempt_at=timezone.now() - dt.timedelta(days=9),
    )
    fake = FakeGateway(declined(), declined())
    monkeypatch.setattr(engine, "gateway", lambda: fake)
    heard = []
    dunning_exhausted.connect(lambda sender, **kw: heard.append(kw), weak=False, dispatch_uid="test-heard")
    sent = []
    monkeypatch.setattr(engine.queue, "send", lambda name, *args, **kw: sent.append((name, args)))
    monkeypatch.setattr(services.queue, "send", lambda name, *args, **kw: sent.append((name, args)))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert engine.sweep() == 1  # day 1 and 3 are both past: one attempt, the latest step
        [attempt] = Attempt.objects.all()
        assert attempt.step == 3 and attempt.idempotency_key == "portal:dunning.pay:in_1:day3"
        with django_capture_on_commit_callbacks(execute=True):
            engine.attempt_execute(attempt_id=attempt.pk)
    finally:
        dunning_exhausted.disconnect(dispatch_uid="test-heard")
    case = Case.objects.get()
    assert case.status == CaseStatus.exhausted and case.final_action == final_action
    assert case.final_action_status == "pending"
    assert [h["final_action"] for h in heard] == [final_action] and heard[0]["organisation"] == acme
    assert Restriction.objects.filter(organisation=acme, lifted_at__isnull=True).exists()
    assert ("billing.dunning.tasks.run_final_action", (case.pk,)) in sent
    deliver(paid(created=1_760_000_500))  # paid after all: recovered, the restriction lifted
    case.refresh_from_db()
    assert case.status == CaseStatus.recovered
    assert not Restriction.objects.filter(lifted_at__isnull=True).exists()


def test_a_hard_decline_waits_for_a_new_payment_method(acme, monkeypatch):
    policy = one_step_policy(FinalAction.leave_open)
    case = due_case(acme, policy)
    Case.objects.filter(pk=case.pk).update(next_attempt_at=case.opened_at + dt.timedelta(days=1))
    monkeypatch.setattr(engine, "gateway", lambda: FakeGateway(declined("stolen_card")))
    Case.objects.filter(pk=case.pk).update(opened_at=timezone.now() - dt.timedelta(days=2))
    engine.sweep()
    engine.attempt_execute(attempt_id=Attempt.objects.get().pk)
    case.refresh_from_db()
    assert case.status == CaseStatus.needs_method and case.next_attempt_at is None
    assert services.method_updated(customer_id="cus_acme") == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.scheduled and case.next_attempt_at == case.opened_at + dt.timedelta(days=3)


def test_a_429_through_every_retry_leaves_the_attempt_queued_with_the_same_key(acme, monkeypatch):
    policy = one_step_policy(FinalAction.leave_open)
    due_case(acme, policy)
    limited = StripeUnavailable("Stripe is not answering right now", http_status=429)
    fake = FakeGateway(limited, declined())
    monkeypatch.setattr(engine, "gateway", lambda: fake)
    engine.sweep()
    attempt = Attempt.objects.get()
    with pytest.raises(StripeUnavailable):
        engine.attempt_execute(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.queued  # not lost, not made
    assert engine.attempt_execute(attempt_id=attempt.pk) == AttemptStatus.failed
    assert engine.attempt_execute(attempt_id=attempt.pk) == "skipped"  # made: a third delivery does nothing
    assert [key for _, key in fake.calls] == [attempt.idempotency_key] * 2
    assert Organisation.objects.count() == 2
