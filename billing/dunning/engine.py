"""The sweep and the attempts: each due step becomes one Attempt row, then one call to Stripe.

- `sweep` (Celery beat, and after a test clock moves) finds cases whose next step is due in their
  customer's time, writes one Attempt per case — unique per (case, step), so a step is never made
  twice — and sends one task per attempt to the `stripe` queue. Steps missed while nothing ran
  collapse into the latest one (a customer is not charged three times in a minute).
- `attempt_execute` claims an attempt with a lease (an UPDATE only one worker wins), checks the
  mirror (still open, not processing, not paused), and pays the invoice through the gateway — the
  shared rate limiter, retries on 429/5xx — with the attempt's idempotency key. A worker killed at
  any point leaves the row `queued` or `sending` with a lease; `requeue_stale` hands it back, and
  the repeated call carries the same key, so Stripe replays its first answer instead of charging.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from djstripe.models import Customer, PaymentIntent, PaymentMethod

from billing.dunning import services
from billing.dunning.models import IN_FLIGHT, Attempt, AttemptStatus, Case, CaseStatus, OrganisationPause
from billing.stripe import accessors, mirror, queue
from billing.stripe.errors import InvalidRequest, PaymentDeclined, StripeGatewayError, StripeUnavailable
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for

log = logging.getLogger(__name__)
ATTEMPT_TASK = "billing.dunning.tasks.execute_attempt"


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.DUNNING_ATTEMPT_LEASE_SECONDS)


def due_cases(wall: dt.datetime):
    """Scheduled cases whose next step is due: by the wall clock, or by their test clock's time."""
    return Case.objects.filter(status=CaseStatus.scheduled, next_attempt_at__isnull=False).filter(
        Q(clock__isnull=True, next_attempt_at__lte=wall) | Q(clock__frozen_time__gte=F("next_attempt_at"))
    )


def pay_key(invoice_id: str, step: str) -> str:
    """Unique to (invoice, step): a retried or duplicated task sends the same key, so Stripe charges once."""
    return key_for("dunning.pay", invoice_id, step)


def _new_methods(cases: list[Case]) -> dict[int, str]:
    """A payment method the customer made default since the case opened is used explicitly (the
    subscription may still name the failing one)."""
    customers = dict(
        Customer.objects.filter(id__in={c.customer_id for c in cases}).values_list(
            "id", "stripe_data__invoice_settings__default_payment_method"
        )
    )
    method_ids = {m for m in customers.values() if isinstance(m, str) and m}
    created = dict(PaymentMethod.objects.filter(id__in=method_ids).values_list("id", "stripe_data__created"))
    chosen = {}
    for case in cases:
        method = customers.get(case.customer_id)
        born = created.get(method)
        if method and born and dt.datetime.fromtimestamp(int(born), dt.UTC) >= case.opened_at:
            chosen[case.pk] = method
    return chosen


def sweep(*, batch: int = 1000, max_batches: int = 100) -> int:
    """Make an attempt of every due step, in batches of `batch` cases; returns how many were made."""
    made = 0
    for _ in range(max_batches):
        created = _sweep_batch(batch)
        made += len(created)
        if len(created) < batch:
            break
    return made


def _sweep_batch(batch: int) -> list[int]:
    wall = timezone.now()
    with transaction.atomic():
        due = due_cases(wall).select_related("policy", "clock").order_by("next_attempt_at")
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True, of=("self",))
        cases = list(due[:batch])
        if not cases:
            return []
        steps: dict[int, list[int]] = {}
        methods = _new_methods(cases)
        attempts, exhausted = [], []
        for case in cases:
            days = steps.setdefault(case.policy_id, list(case.policy.steps.values_list("day", flat=True)))
            now = case.clock.frozen_time if case.clock_id and case.clock else wall
            remaining = [day for day in days if day > case.last_step_day]
            due_days = [day for day in remaining if case.opened_at + dt.timedelta(days=day) <= now]
            if not remaining or case.attempts_made >= case.policy.max_attempts:
                exhausted.append(case)
                continue
            if not due_days:  # the schedule changed since it was set: wait for its next step
                case.next_attempt_at = case.opened_at + dt.timedelta(days=remaining[0])
                case.save(update_fields=["next_attempt_at"])
                continue
            day = due_days[-1]
            attempts.append(
                Attempt(
                    case=case,
                    number=case.attempts_made + 1,
                    step=day,
                    idempotency_key=pay_key(case.invoice_id, f"day{day}"),
                    payment_method_id=methods.get(case.pk, ""),
                    scheduled_for=case.opened_at + dt.timedelta(days=day),
                )
            )
            case.status, case.last_step_day = CaseStatus.in_progress, day
            case.attempts_made, case.next_attempt_at, case.updated_at = case.attempts_made + 1, None, wall
        Attempt.objects.bulk_create(attempts)
        touched = [a.case for a in attempts]
        Case.objects.bulk_update(
            touched, ["status", "last_step_day", "attempts_made", "next_attempt_at", "updated_at"], batch_size=1000
        )
        for case in exhausted:
            services.case_exhaust(case, case.clock.frozen_time if case.clock_id and case.clock else wall)
        ids = [a.pk for a in attempts]
        transaction.on_commit(lambda: [queue.send(ATTEMPT_TASK, pk) for pk in ids])
    return ids + [c.pk for c in exhausted]


def requeue_stale(*, limit: int = 5000) -> int:
    """Attempts whose task was lost (a worker killed, a message dropped) or whose lease ran out go back."""
    cutoff = timezone.now() - _lease()
    stale = Attempt.objects.filter(
        Q(status=AttemptStatus.queued, created_at__lt=cutoff)
        | Q(status=AttemptStatus.sending, lease_until__lt=timezone.now())
    ).values_list("pk", flat=True)[:limit]
    ids = list(stale)
    for pk in ids:
        queue.send(ATTEMPT_TASK, pk)
    return len(ids)


def _claim(attempt_id: int) -> bool:
    now = timezone.now()
    return bool(
        Attempt.objects.filter(pk=attempt_id)
        .filter(Q(status=AttemptStatus.queued) | Q(status=AttemptStatus.sending, lease_until__lt=now))
        .update(
            status=AttemptStatus.sending,
            lease_until=now + _lease(),
            sends=F("sends") + 1,
            first_sent_at=Coalesce(F("first_sent_at"), Value(now)),
        )
    )


def _processing_payment(invoice: dict) -> str | None:
    ids = accessors.invoice_payment_intent_ids(invoice)
    if not ids:
        return None
    return (
        PaymentIntent.objects.filter(id__in=ids, stripe_data__status="processing").values_list("id", flat=True).first()
    )


def attempt_execute(*, attempt_id: int) -> str:
    """Make one attempt (once). Returns its status. Raises StripeUnavailable when Stripe stayed
    unreachable or rate limited through the gateway's retries: the attempt is queued again, unchanged."""
    if not _claim(attempt_id):
        return "skipped"
    attempt = Attempt.objects.select_related("case").get(pk=attempt_id)
    case = attempt.case
    invoice = services._invoice(case.invoice_id) or {}
    if invoice.get("status") not in (None, "open"):
        services.attempt_record(attempt.pk, status=AttemptStatus.skipped, message=f"The invoice is {invoice['status']}")
        services.case_invoice_changed(invoice_id=case.invoice_id)
        return AttemptStatus.skipped
    if attempt.step is not None and case.organisation_id:
        if OrganisationPause.objects.filter(organisation_id=case.organisation_id).exists():
            services.attempt_record(attempt.pk, status=AttemptStatus.skipped, message="Dunning is paused")
            return AttemptStatus.skipped
    processing = _processing_payment(invoice)
    if processing:
        services.attempt_record(
            attempt.pk,
            status=AttemptStatus.processing,
            payment_intent_id=processing,
            message="A payment of this invoice is still processing; not retried",
        )
        return AttemptStatus.processing
    params = {"payment_method": attempt.payment_method_id} if attempt.payment_method_id else {}
    try:
        paid = gateway().post(f"/v1/invoices/{case.invoice_id}/pay", params, idempotency_key=attempt.idempotency_key)
    except PaymentDeclined as error:
        services.attempt_record(
            attempt.pk,
            status=AttemptStatus.failed,
            payment_intent_id=error.payment_intent_id or "",
            charge_id=error.charge_id or "",
            decline_code=error.decline_code or error.code or "",
            message=error.message,
        )
        return AttemptStatus.failed
    except StripeUnavailable:
        Attempt.objects.filter(pk=attempt.pk, status=AttemptStatus.sending).update(
            status=AttemptStatus.queued, lease_until=None
        )
        raise
    except (InvalidRequest, StripeGatewayError) as error:
        return _refused(attempt, error)
    return _answered(attempt, paid)


def _refused(attempt: Attempt, error: StripeGatewayError) -> str:
    """Stripe refused the attempt (the invoice was paid or voided meanwhile, no payment method…)."""
    case = attempt.case
    try:
        current = gateway().get(f"/v1/invoices/{case.invoice_id}")
    except StripeGatewayError:
        current = None
    if current is not None:
        with transaction.atomic():
            mirror.apply_object(current)
    if current is not None and current.get("status") != "open":
        services.attempt_record(attempt.pk, status=AttemptStatus.skipped, message=error.message)
        services.case_invoice_changed(invoice_id=case.invoice_id)
        return AttemptStatus.skipped
    services.attempt_record(
        attempt.pk, status=AttemptStatus.failed, decline_code=error.code or "", message=error.message
    )
    return AttemptStatus.failed


def _answered(attempt: Attempt, invoice: dict) -> str:
    with transaction.atomic():
        mirror.apply_object(invoice)
    pi_ids = accessors.invoice_payment_intent_ids(invoice)
    intent_id = pi_ids[-1] if pi_ids else ""
    if invoice.get("status") == "paid":
        services.attempt_record(
            attempt.pk,
            status=AttemptStatus.succeeded,
            payment_intent_id=intent_id,
            charge_id=services._latest_charge(invoice),
            invoice=invoice,
        )
        return AttemptStatus.succeeded
    # Open after a successful call: a bank debit on its way (its outcome arrives by event).
    services.attempt_record(attempt.pk, status=AttemptStatus.processing, payment_intent_id=intent_id)
    return AttemptStatus.processing


def in_flight(case: Case) -> bool:
    return case.attempts.filter(status__in=IN_FLIGHT).exists()
