"""The dunning case's life: opened by a failed invoice, advanced by each attempt's outcome, closed
when the invoice is paid (by us, the customer or out of band), voided, or the schedule runs out.

Every function here is safe to run twice and in any order of arrival: transitions check the case's
state (read under a row lock) and the mirror's current invoice, never an event's old snapshot.
The sweep and the attempts themselves are in engine.py; Stripe writes in actions.py.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from djstripe.models import Customer, Invoice, PaymentIntent, PaymentMethod, Subscription

from accounts.models import Organisation
from billing.dunning.emails import email_queue
from billing.dunning.models import (
    IN_FLIGHT,
    OPEN_STATUSES,
    Attempt,
    AttemptStatus,
    Case,
    CaseEvent,
    CaseStatus,
    ClockTime,
    EmailKind,
    EmailTemplate,
    OrganisationPause,
    Resolution,
)
from billing.dunning.policies import InvoiceFacts, policy_for
from billing.dunning.signals import dunning_exhausted, dunning_recovered
from billing.stripe import accessors, queue

# Declines after which retrying the same card is pointless (and harmful): ask for a new method.
HARD_DECLINES = {
    "stolen_card",
    "lost_card",
    "pickup_card",
    "fraudulent",
    "restricted_card",
    "expired_card",
    "incorrect_number",
    "invalid_number",
    "invalid_account",
    "card_not_supported",
    "revocation_of_all_authorizations",
    "revocation_of_authorization",
    "security_violation",
    "stop_payment_order",
    "transaction_not_allowed",
    "account_closed",
    "no_account",
    "payment_method_missing",
}


def _when(ts) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC) if ts else None


def now_for(case: Case) -> dt.datetime:
    """The case's customer's time: its test clock's frozen time, or the wall clock."""
    if case.clock_id:
        frozen = ClockTime.objects.filter(pk=case.clock_id).values_list("frozen_time", flat=True).first()
        if frozen:
            return frozen
    return timezone.now()


def clock_observe(clock: dict) -> bool:
    """Keep a test clock's frozen time (only forward: events arrive in any order). True if it moved."""
    frozen = _when(clock.get("frozen_time"))
    if not clock.get("id") or frozen is None:
        return False
    row, created = ClockTime.objects.get_or_create(pk=clock["id"], defaults={"frozen_time": frozen})
    if created:
        return True
    return bool(ClockTime.objects.filter(pk=row.pk, frozen_time__lt=frozen).update(frozen_time=frozen))


def _invoice(invoice_id: str) -> dict | None:
    return Invoice.objects.filter(id=invoice_id).values_list("stripe_data", flat=True).first()


def _method_type(invoice: dict, customer: dict) -> str:
    """The payment method type that failed: the failed PaymentIntent's, else the default the invoice used."""
    for pi_id in reversed(accessors.invoice_payment_intent_ids(invoice)):
        intent = PaymentIntent.objects.filter(id=pi_id).values_list("stripe_data", flat=True).first() or {}
        failed_with = (intent.get("last_payment_error") or {}).get("payment_method") or {}
        if isinstance(failed_with, dict) and failed_with.get("type"):
            return failed_with["type"]
        if intent.get("payment_method_types"):
            return intent["payment_method_types"][0]
    subscription_id = accessors.invoice_subscription_id(invoice)
    candidates = [
        invoice.get("default_payment_method"),
        subscription_id
        and Subscription.objects.filter(id=subscription_id)
        .values_list("stripe_data__default_payment_method", flat=True)
        .first(),
        (customer.get("invoice_settings") or {}).get("default_payment_method"),
    ]
    for method_id in candidates:
        if isinstance(method_id, str) and method_id:
            kind = PaymentMethod.objects.filter(id=method_id).values_list("stripe_data__type", flat=True).first()
            if kind:
                return kind
    return ""


def invoice_facts(invoice: dict, customer: dict, organisation: Organisation | None) -> InvoiceFacts:
    plans = {
        ((line.get("pricing") or {}).get("price_details") or {}).get("product")
        for line in (invoice.get("lines") or {}).get("data") or []
    }
    country = ((customer.get("address") or {}).get("country") or "").upper()
    if not country and organisation is not None:
        country = organisation.country.code or ""
    return InvoiceFacts(
        segment="enterprise" if organisation is not None and organisation.is_enterprise else "self_serve",
        country=country,
        plans={p for p in plans if p},
        currency=invoice.get("currency") or "",
        amount=invoice.get("amount_remaining") or 0,
        method_type=_method_type(invoice, customer),
    )


def case_open(
    *, invoice_id: str, snapshot: dict | None = None, failed_at: dt.datetime | None = None, source=""
) -> Case | None:
    """Open the dunning case of a failed invoice (once: a later failure of it finds the case).

    Nothing opens for an invoice the mirror already knows is paid, void or uncollectible (a late
    `invoice.payment_failed`)."""
    existing = Case.objects.filter(invoice_id=invoice_id).first()
    if existing is not None:
        return existing
    invoice = _invoice(invoice_id) or snapshot
    if not invoice or invoice.get("status") != "open" or (invoice.get("amount_remaining") or 0) <= 0:
        return None
    customer_id = invoice.get("customer") or ""
    customer = Customer.objects.filter(id=customer_id).values_list("stripe_data", flat=True).first() or {}
    organisation = Organisation.objects.filter(stripe_customer_id=customer_id).first() if customer_id else None
    facts = invoice_facts(invoice, customer, organisation)
    policy = policy_for(facts)
    clock_id = customer.get("test_clock") or invoice.get("test_clock")
    payments = [p.get("created") for p in ((invoice.get("payments") or {}).get("data") or []) if p.get("created")]
    opened_at = _when(max(payments)) if payments else None
    if clock_id:
        ClockTime.objects.get_or_create(pk=clock_id, defaults={"frozen_time": opened_at or failed_at or timezone.now()})
    if clock_id:
        # Stripe stamps payments and events on test clocks with real time: the failure counts from the
        # clock's time as the portal knows it (at least the payment's own time).
        known = now_for_clock(clock_id)
        opened_at = max(t for t in (opened_at, known) if t) if (opened_at or known) else timezone.now()
    opened_at = opened_at or failed_at or timezone.now()
    steps = list(policy.steps.values_list("day", flat=True))
    paused = organisation is not None and OrganisationPause.objects.filter(organisation=organisation).exists()
    try:
        with transaction.atomic():
            case = Case.objects.create(
                invoice_id=invoice_id,
                customer_id=customer_id,
                organisation=organisation,
                policy=policy,
                status=CaseStatus.paused if paused else CaseStatus.scheduled,
                invoice_number=invoice.get("number") or "",
                hosted_invoice_url=invoice.get("hosted_invoice_url") or "",
                subscription_id=accessors.invoice_subscription_id(invoice) or "",
                currency=invoice.get("currency") or "",
                amount_due=invoice.get("amount_remaining") or 0,
                method_type=facts.method_type,
                country=facts.country,
                segment=facts.segment,
                plan=sorted(facts.plans)[0] if facts.plans else "",
                clock_id=clock_id or None,
                opened_at=opened_at,
                next_attempt_at=opened_at + dt.timedelta(days=steps[0]) if steps else opened_at,
            )
    except IntegrityError:
        return Case.objects.filter(invoice_id=invoice_id).first()  # another worker opened it just now
    note(case, "opened", f"Payment failed; policy “{policy.name}” applies.", at=opened_at, source=source)
    if paused:
        note(case, "paused", "Dunning is paused for this organisation: no attempt until it is resumed.", at=opened_at)
    email_queue(
        case, kind=EmailKind.opening, template=policy.opening_email, at=opened_at, next_attempt_at=case.next_attempt_at
    )
    transaction.on_commit(lambda: queue.send("billing.dunning.tasks.turn_off_stripe_retries", case.pk))
    return case


def now_for_clock(clock_id: str) -> dt.datetime | None:
    return ClockTime.objects.filter(pk=clock_id).values_list("frozen_time", flat=True).first()


def note(case: Case, kind: str, message: str, *, at=None, actor=None, source: str = "") -> CaseEvent:
    return CaseEvent.objects.create(
        case=case, kind=kind, message=message, at=at or now_for(case), actor=actor, source=source[:255]
    )


def _locked(case_id: int) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("policy", "organisation").get(pk=case_id)


def case_invoice_changed(*, invoice_id: str, source: str = "") -> Case | None:
    """The invoice is no longer open (as the mirror says): the case stops at once, recovered or not."""
    invoice = _invoice(invoice_id)
    if invoice is None or invoice.get("status") == "open":
        return None
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(invoice_id=invoice_id).first()
        if case is None:
            return None
        case = _locked(case.pk)
        status = invoice.get("status")
        if status == "paid":
            _recover(case, invoice, source=source)
        elif case.is_open and status in ("void", "uncollectible", "deleted"):
            resolution = Resolution.voided if status == "void" else Resolution.uncollectible
            _close(case, CaseStatus.stopped, resolution, f"Invoice {status}: dunning stopped.", source=source)
    return case


def _paying_attempt(case: Case, invoice: dict) -> Attempt | None:
    paying = set(accessors.invoice_payment_intent_ids(invoice))
    for attempt in case.attempts.exclude(payment_intent_id="").order_by("-number"):
        if attempt.payment_intent_id in paying and attempt.status != AttemptStatus.failed:
            return attempt
    return None


def _recover(case: Case, invoice: dict, *, source: str = "") -> None:
    if case.status == CaseStatus.recovered:
        return
    was_exhausted = case.status == CaseStatus.exhausted
    attempt = _paying_attempt(case, invoice)
    payments = (invoice.get("payments") or {}).get("data")
    if attempt is not None:
        resolution = Resolution.retry
        if attempt.status in IN_FLIGHT:
            Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.succeeded, completed_at=timezone.now())
        case.recovered_attempt = attempt.number
        case.recovered_charge_id = attempt.charge_id
    elif payments == [] or invoice.get("paid_out_of_band"):
        resolution = Resolution.out_of_band
        case.recovered_charge_id = invoice["id"]
    else:
        resolution = Resolution.customer
    if not case.recovered_charge_id:
        case.recovered_charge_id = _latest_charge(invoice)
    case.recovered_amount = invoice.get("amount_paid") or case.amount_due
    message = {
        Resolution.retry: f"Recovered by attempt {case.recovered_attempt}.",
        Resolution.out_of_band: "Paid outside Stripe (marked paid by finance).",
        Resolution.customer: "Paid by the customer.",
    }[resolution]
    _close(case, CaseStatus.recovered, resolution, message, source=source)
    Attempt.objects.filter(case=case, status__in=IN_FLIGHT).update(
        status=AttemptStatus.skipped, message="The invoice was paid", completed_at=timezone.now()
    )
    email_queue(case, kind=EmailKind.recovered, template=case.policy.recovered_email, at=case.closed_at)
    if was_exhausted:
        dunning_recovered.send(sender=Case, case=case, organisation=case.organisation, invoice_id=case.invoice_id)


def _latest_charge(invoice: dict) -> str:
    ids = accessors.invoice_payment_intent_ids(invoice)
    if not ids:
        return ""
    data = PaymentIntent.objects.filter(id=ids[-1]).values_list("stripe_data", flat=True).first() or {}
    charge = data.get("latest_charge")
    return charge if isinstance(charge, str) else (charge or {}).get("id", "")


def _close(case: Case, status: str, resolution: str, message: str, *, source: str = "") -> None:
    at = now_for(case)
    case.status, case.resolution, case.closed_at = status, resolution, at
    case.next_attempt_at, case.updated_at = None, timezone.now()
    case.save()
    note(case, status, message, at=at, source=source)


def attempt_record(
    attempt_id: int,
    *,
    status: str,
    payment_intent_id: str = "",
    charge_id: str = "",
    decline_code: str = "",
    message: str = "",
    invoice: dict | None = None,
    source: str = "",
) -> Attempt:
    """The outcome of an attempt (from Stripe's answer or a later event), once: a settled attempt stays."""
    with transaction.atomic():
        # The attempt and its case, locked in one statement (the organisation only joined, not locked).
        attempt = (
            Attempt.objects.select_for_update(of=("self", "case"))
            .select_related("case", "case__policy", "case__organisation")
            .get(pk=attempt_id)
        )
        case = attempt.case
        if attempt.status not in (AttemptStatus.sending, AttemptStatus.processing, AttemptStatus.queued):
            return attempt
        if status == AttemptStatus.processing and attempt.status == AttemptStatus.processing:
            return attempt
        at = attempt.at or now_for(case)
        attempt.status, attempt.at = status, at
        attempt.payment_intent_id = payment_intent_id or attempt.payment_intent_id
        attempt.charge_id = charge_id or attempt.charge_id
        attempt.decline_code, attempt.message = decline_code[:64], message[:2000]
        attempt.lease_until = None
        if status != AttemptStatus.processing:
            attempt.completed_at = timezone.now()
        attempt.save()
        if status == AttemptStatus.succeeded:
            current = invoice or _invoice(case.invoice_id) or {}
            if current.get("status") == "paid":
                _recover(case, current, source=source)
        elif status == AttemptStatus.processing:
            note(case, "processing", "The bank debit is processing: no retry until it settles.", at=at, source=source)
        elif status == AttemptStatus.failed and case.status == CaseStatus.in_progress:
            case.last_decline_code = decline_code[:64]
            _after_failure(case, attempt, at)
        elif status == AttemptStatus.skipped and case.status == CaseStatus.in_progress:
            _reschedule(case)
    return attempt


_steps_cache: dict[tuple[int, dt.datetime], list[tuple[int, int | None]]] = {}


def policy_steps(policy) -> list[tuple[int, int | None]]:
    """(day, email template id) of a policy, cached per process until the policy changes (its
    `updated_at` moves with every edit, steps included)."""
    key = (policy.pk, policy.updated_at)
    if key not in _steps_cache:
        if len(_steps_cache) > 500:
            _steps_cache.clear()
        _steps_cache[key] = list(policy.steps.order_by("day").values_list("day", "email_id"))
    return _steps_cache[key]


def _step_email(case: Case, day: int | None) -> EmailTemplate | None:
    email_id = dict(policy_steps(case.policy)).get(day) if day is not None else None
    return EmailTemplate.objects.filter(pk=email_id).first() if email_id else None


def _after_failure(case: Case, attempt: Attempt, at: dt.datetime) -> None:
    template = _step_email(case, attempt.step)
    step = attempt.step if attempt.step is not None else -2 - attempt.number  # manual retries: their own key
    if attempt.decline_code in HARD_DECLINES:
        case.needs_new_method = True
        case.status = CaseStatus.needs_method
        case.next_attempt_at = None
        case.save()
        note(case, "needs_method", f"Hard decline ({attempt.decline_code}): waiting for a new payment method.", at=at)
        email_queue(case, kind=EmailKind.step, step=step, template=template or case.policy.opening_email, at=at)
        return
    following = _next_step_day(case)
    if following is None or case.attempts_made >= case.policy.max_attempts:
        case_exhaust(case, at)
        return
    _reschedule(case)
    email_queue(case, kind=EmailKind.step, step=step, template=template, at=at, next_attempt_at=case.next_attempt_at)


def _next_step_day(case: Case) -> int | None:
    return next((day for day, _ in policy_steps(case.policy) if day > case.last_step_day), None)


def _reschedule(case: Case) -> None:
    """Back to waiting for the next step of the schedule (paused if the organisation is)."""
    day = _next_step_day(case)
    paused = case.organisation_id and OrganisationPause.objects.filter(organisation_id=case.organisation_id).exists()
    if day is None:
        case.next_attempt_at = case.opened_at  # due at once: the sweep finds no step left and ends the case
    else:
        case.next_attempt_at = case.opened_at + dt.timedelta(days=day)
    if case.needs_new_method:
        case.status = CaseStatus.needs_method
    else:
        case.status = CaseStatus.paused if paused else CaseStatus.scheduled
    case.updated_at = timezone.now()
    case.save()


def case_exhaust(case: Case, at: dt.datetime) -> None:
    """The schedule ran out unpaid: the policy's final action, the final email, `dunning_exhausted`."""
    if not case.is_open:
        return
    action = case.policy.final_action
    case.final_action = action
    case.final_action_status = "done" if action == "leave_open" else "pending"
    _close(
        case, CaseStatus.exhausted, Resolution.final_action, f"Schedule exhausted: {case.get_final_action_display()}."
    )
    email_queue(case, kind=EmailKind.final, template=case.policy.final_email, at=at)
    dunning_exhausted.send(
        sender=Case, case=case, organisation=case.organisation, invoice_id=case.invoice_id, final_action=action
    )
    if action != "leave_open":
        transaction.on_commit(lambda: queue.send("billing.dunning.tasks.run_final_action", case.pk))


def attempt_settled(*, payment_intent: dict, source: str = "") -> None:
    """A bank debit of ours settled (or any attempt's PaymentIntent reached its end), by event."""
    attempt = (
        Attempt.objects.filter(payment_intent_id=payment_intent.get("id") or "-", status__in=IN_FLIGHT)
        .order_by("-number")
        .first()
    )
    if attempt is None:
        return
    if payment_intent.get("status") == "succeeded":
        attempt_record(attempt.pk, status=AttemptStatus.succeeded, source=source)
    elif payment_intent.get("status") in ("requires_payment_method", "canceled"):
        error = payment_intent.get("last_payment_error") or {}
        attempt_record(
            attempt.pk,
            status=AttemptStatus.failed,
            decline_code=error.get("decline_code") or error.get("code") or "",
            message=error.get("message") or "",
            source=source,
        )


def method_updated(*, customer_id: str) -> int:
    """A new payment method (or default): cases waiting for one go back to their schedule."""
    count = 0
    for case in Case.objects.filter(customer_id=customer_id, status=CaseStatus.needs_method):
        with transaction.atomic():
            case = _locked(case.pk)
            if case.status != CaseStatus.needs_method:
                continue
            case.needs_new_method = False
            _reschedule(case)
            note(case, "method_updated", "A new payment method: the schedule continues.")
            count += 1
    return count


def open_cases_of(organisation: Organisation):
    return Case.objects.filter(organisation=organisation, status__in=OPEN_STATUSES)
