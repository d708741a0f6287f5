"""What people and the engine do to cases besides the scheduled attempts: turn Stripe's own retries
off, run the final action, pause and resume an organisation, retry now (finance admins).

Each Stripe write carries an idempotency key from the case; each person's action is audited.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit
from accounts.models import Organisation
from billing.dunning import engine, services
from billing.dunning.models import IN_FLIGHT, Attempt, Case, CaseStatus, OrganisationPause
from billing.stripe import mirror
from billing.stripe.errors import InvalidRequest, StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from billing.subscriptions.services import subscription_cancel


class DunningError(Exception):
    """An action the portal refuses before asking Stripe; the message is for people."""


def turn_off_stripe_retries(*, case_id: int) -> bool:
    """`auto_advance=false` on the invoice: Stripe's automatic retries stop, the portal duns it."""
    case = Case.objects.get(pk=case_id)
    if case.stripe_retries_off or not case.is_open:
        return False
    try:
        invoice = gateway().post(
            f"/v1/invoices/{case.invoice_id}",
            {"auto_advance": "false"},
            idempotency_key=key_for("dunning.auto_advance_off", case),
        )
    except InvalidRequest as error:
        services.note(case, "stripe_retries", f"Stripe's retries could not be turned off: {error.message}")
        return False
    with transaction.atomic():
        mirror.apply_object(invoice)
        Case.objects.filter(pk=case.pk).update(stripe_retries_off=True)
    return True


def run_final_action(*, case_id: int) -> str:
    """Mark the invoice uncollectible or cancel its subscription, once (keys from the case)."""
    case = Case.objects.select_related("organisation").get(pk=case_id)
    if case.status != CaseStatus.exhausted or case.final_action_status != "pending":
        return case.final_action_status
    try:
        if case.final_action == "mark_uncollectible":
            result = gateway().post(
                f"/v1/invoices/{case.invoice_id}/mark_uncollectible",
                {},
                idempotency_key=key_for("dunning.final.uncollectible", case),
            )
            with transaction.atomic():
                mirror.apply_object(result)
        elif case.final_action == "cancel_subscription" and case.subscription_id:
            if case.organisation is not None:
                subscription_cancel(
                    organisation=case.organisation,
                    subscription_id=case.subscription_id,
                    at_period_end=False,
                    request_key=f"dunning-case-{case.pk}",
                )
            else:
                result = gateway().delete(
                    f"/v1/subscriptions/{case.subscription_id}", idempotency_key=key_for("dunning.final.cancel", case)
                )
                with transaction.atomic():
                    mirror.apply_object(result)
    except InvalidRequest as error:
        Case.objects.filter(pk=case.pk).update(final_action_status="failed", final_action_error=error.message[:2000])
        services.note(case, "final_action", f"Final action refused by Stripe: {error.message}")
        return "failed"
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(final_action_status="done")
        services.note(case, "final_action", f"Final action done: {case.get_final_action_display()}.")
        audit(
            None,
            f"dunning.final.{case.final_action}",
            object_type="djstripe.invoice",
            object_id=case.invoice_id,
            organisation=case.organisation,
            case=case.pk,
        )
    return "done"


def dunning_pause(*, organisation: Organisation, actor, reason: str) -> int:
    """No scheduled attempt for this organisation until resumed. Returns how many open cases it holds."""
    reason = (reason or "").strip()
    if not reason:
        raise DunningError("Say why dunning is paused: the reason is kept in the audit log.")
    with transaction.atomic():
        pause, created = OrganisationPause.objects.get_or_create(
            organisation=organisation, defaults={"reason": reason[:2000], "paused_by": actor}
        )
        if not created:
            raise DunningError(f"Dunning is already paused for {organisation.name}.")
        held = 0
        for case in services.open_cases_of(organisation).filter(
            status__in=[CaseStatus.scheduled, CaseStatus.needs_method]
        ):
            case.status = CaseStatus.paused
            case.save(update_fields=["status"])
            services.note(case, "paused", f"Dunning paused by {actor.get_username()}: {reason}", actor=actor)
            held += 1
        audit(actor, "dunning.pause", organisation, reason=reason, cases=held)
    return held


def dunning_resume(*, organisation: Organisation, actor) -> int:
    with transaction.atomic():
        deleted, _ = OrganisationPause.objects.filter(organisation=organisation).delete()
        if not deleted:
            raise DunningError(f"Dunning is not paused for {organisation.name}.")
        resumed = 0
        for case in services.open_cases_of(organisation).filter(status=CaseStatus.paused):
            case = services._locked(case.pk)
            services._reschedule(case)
            services.note(case, "resumed", f"Dunning resumed by {actor.get_username()}.", actor=actor)
            resumed += 1
        audit(actor, "dunning.resume", organisation, cases=resumed)
    return resumed


def retry_now(*, case: Case, actor, request_id: uuid.UUID | None = None) -> Attempt:
    """A finance admin's attempt outside the schedule, made now. It counts toward the maximum."""
    key = engine.pay_key(case.invoice_id, f"manual-{request_id or uuid.uuid4()}")
    existing = Attempt.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing  # a double submit of the same form
    with transaction.atomic():
        case = services._locked(case.pk)
        invoice = services._invoice(case.invoice_id) or {}
        status = invoice.get("status")
        if status != "open" or (invoice.get("amount_remaining") or 0) <= 0:
            number = case.invoice_number or case.invoice_id
            raise DunningError(f"Invoice {number} is {status or 'unknown'}: there is nothing to collect.")
        if case.status in (CaseStatus.recovered, CaseStatus.stopped):
            raise DunningError("This case is closed.")
        if case.attempts.filter(status__in=IN_FLIGHT).exists():
            raise DunningError("An attempt for this invoice is already on its way; wait for its outcome.")
        number = case.attempts_made + 1
        attempt = Attempt.objects.create(
            case=case,
            number=number,
            step=None,
            requested_by=actor,
            idempotency_key=key,
            scheduled_for=services.now_for(case),
        )
        reopen = case.status == CaseStatus.exhausted
        case.attempts_made = number
        if not reopen:
            case.status = CaseStatus.in_progress
        case.updated_at = timezone.now()
        case.save()
        audit(
            actor,
            "dunning.retry",
            object_type="djstripe.invoice",
            object_id=case.invoice_id,
            organisation=case.organisation,
            case=case.pk,
            attempt=number,
        )
    try:
        engine.attempt_execute(attempt_id=attempt.pk)
    except StripeGatewayError:
        pass  # queued again: the sweep's stale check sends it when Stripe answers
    attempt.refresh_from_db()
    return attempt
