"""Early fraud warnings and the policy finance sets for them: refund automatically below a threshold
(in any currency, converted to the reporting currency), before the warning becomes a dispute and its
fee. Applied by a Celery task when the warning's event arrives; once per warning, audited."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from djstripe.models import Charge

from accounts.audit import audit
from billing.money import format_money
from billing.risk import blocklist, cases
from billing.risk.errors import RiskError
from billing.risk.models import BlockKind, RiskPolicy, WarningCase, WarningOutcome
from billing.stripe import mirror
from billing.stripe.errors import StripeGatewayError, StripeUnavailable
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for

# Outcomes a finance admin may still refund by hand.
REFUNDABLE_BY_HAND = {
    WarningOutcome.pending,
    WarningOutcome.above_threshold,
    WarningOutcome.no_rate,
    WarningOutcome.policy_off,
    WarningOutcome.failed,
}


def policy_current() -> RiskPolicy:
    return RiskPolicy.objects.order_by("pk").first() or RiskPolicy(currency=settings.PORTAL_REPORTING_CURRENCY)


def policy_set(*, actor, auto_refund: bool, refund_below: int, block_card: bool) -> RiskPolicy:
    if refund_below < 0:
        raise RiskError("The threshold cannot be negative.")
    if auto_refund and refund_below == 0:
        raise RiskError("Set a threshold above zero to refund automatically.")
    with transaction.atomic():
        policy = RiskPolicy.objects.select_for_update().order_by("pk").first() or RiskPolicy()
        before = {"auto_refund": policy.auto_refund, "refund_below": policy.refund_below, "currency": policy.currency}
        policy.auto_refund, policy.refund_below, policy.block_card = auto_refund, refund_below, block_card
        policy.currency, policy.updated_by, policy.updated_at = (
            settings.PORTAL_REPORTING_CURRENCY,
            actor,
            timezone.now(),
        )
        policy.save()
        audit(
            actor,
            "risk.policy.set",
            policy,
            auto_refund=auto_refund,
            refund_below=refund_below,
            currency=policy.currency,
            block_card=block_card,
            before=before,
        )
    return policy


def _charge_state(charge_id: str | None) -> dict:
    if not charge_id:
        return {}
    return Charge.objects.filter(id=charge_id).values_list("stripe_data", flat=True).first() or {}


def _policy_outcome(case: WarningCase, policy: RiskPolicy) -> tuple[str, str]:
    charge = _charge_state(case.charge_id)
    if not case.actionable:
        return WarningOutcome.not_actionable, "Stripe says there is nothing left to act on"
    if charge.get("refunded"):
        return WarningOutcome.already_refunded, ""
    if charge.get("disputed"):
        return WarningOutcome.disputed, "a dispute was opened before the policy ran"
    if not policy.auto_refund or policy.pk is None:
        return WarningOutcome.policy_off, ""
    if policy.currency != settings.PORTAL_REPORTING_CURRENCY:
        return WarningOutcome.policy_off, "the reporting currency changed since the policy was set"
    if case.amount_reporting is None:
        return WarningOutcome.no_rate, f"no FX rate from {case.currency.upper()} to {policy.currency.upper()}"
    if case.amount_reporting >= policy.refund_below:
        limit = format_money(policy.refund_below, policy.currency)
        return WarningOutcome.above_threshold, f"{format_money(case.amount_reporting, policy.currency)} ≥ {limit}"
    return WarningOutcome.refunding, ""


def warning_policy_apply(*, warning_id: str) -> WarningCase:
    """Apply the policy to a warning once. Safe to run twice and concurrently: the row lock lets one
    decide, and a refund already on its way is sent again with the same idempotency key."""
    cases.warning_refresh(warning_id)
    policy = policy_current()
    with transaction.atomic():
        case = WarningCase.objects.select_for_update().get(pk=warning_id)
        if case.outcome == WarningOutcome.pending:
            case.outcome, case.note = _policy_outcome(case, policy)
            case.threshold = policy.refund_below if policy.pk else None
            if case.outcome != WarningOutcome.refunding:
                case.handled_at = timezone.now()
            case.save(update_fields=["outcome", "note", "threshold", "handled_at"])
            if case.outcome != WarningOutcome.refunding:
                audit(None, "risk.warning.policy", case, outcome=case.outcome, note=case.note)
        if case.outcome != WarningOutcome.refunding:
            return case
    return _refund(case, actor=None, key=key_for("warning.refund", case), by_policy=True, policy=policy)


def warning_refund(*, case: WarningCase, actor, reason: str, request_id: uuid.UUID) -> WarningCase:
    """A finance admin refunds a warning's charge (one the policy left for a person)."""
    reason = (reason or "").strip()
    if not reason:
        raise RiskError("Say why: the refund is kept in the audit log with its reason.")
    with transaction.atomic():
        case = WarningCase.objects.select_for_update().get(pk=case.pk)
        if case.outcome not in REFUNDABLE_BY_HAND:
            raise RiskError(f"This warning is {case.get_outcome_display().lower()}: nothing was sent to Stripe.")
        charge = _charge_state(case.charge_id)
        if charge.get("refunded"):
            raise RiskError("The charge is already refunded: nothing was sent to Stripe.")
        case.outcome, case.note = WarningOutcome.refunding, reason[:500]
        case.save(update_fields=["outcome", "note"])
        audit(actor, "risk.warning.refund.request", case, reason=reason)
    return _refund(case, actor=actor, key=key_for("warning.refund.by_hand", case, request_id), by_policy=False)


def _refund(case: WarningCase, *, actor, key: str, by_policy: bool, policy: RiskPolicy | None = None) -> WarningCase:
    try:
        refund = gateway().post(
            "/v1/refunds",
            {"charge": case.charge_id, "reason": "fraudulent", "metadata": {"early_fraud_warning": case.pk}},
            idempotency_key=key,
        )
    except StripeUnavailable:
        raise  # left `refunding`: the task is retried and sends the same key
    except StripeGatewayError as error:
        WarningCase.objects.filter(pk=case.pk, outcome=WarningOutcome.refunding).update(
            outcome=WarningOutcome.failed, note=error.message[:500], handled_at=timezone.now()
        )
        audit(actor, "risk.warning.refund.failed", case, error=error.message, by_policy=by_policy)
        case.refresh_from_db()
        return case
    outcome = WarningOutcome.refunded_by_policy if by_policy else WarningOutcome.refunded_by_hand
    with transaction.atomic():
        marked = WarningCase.objects.filter(pk=case.pk, outcome=WarningOutcome.refunding).update(
            outcome=outcome, refund_id=refund["id"], handled_at=timezone.now()
        )
        mirror.apply_object(refund)
        if marked:
            audit(
                actor,
                "risk.warning.auto_refund" if by_policy else "risk.warning.refund",
                case,
                refund=refund["id"],
                amount=refund.get("amount"),
                currency=refund.get("currency"),
                threshold=case.threshold,
            )
    case.refresh_from_db()
    if marked and by_policy and policy is not None and policy.block_card:
        fingerprint = (cases.card_details(_charge_state(case.charge_id)).get("fingerprint")) or ""
        if fingerprint:
            blocklist.block_entry_add(
                kind=BlockKind.card_fingerprint,
                value=fingerprint,
                reason=f"Early fraud warning {case.pk} ({case.fraud_type}), refunded by policy",
                actor=None,
                source=case.pk,
                exist_ok=True,
            )
    return case
