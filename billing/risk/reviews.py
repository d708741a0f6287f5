"""A reviewer's decisions on Radar reviews: approve (close as approved), or refund as fraud and block
what identifies the payer. Each decision is a row first (its id is the idempotency key); a single one
runs at once, a bulk one per review on the `stripe` queue. Every decision is audited with its reason."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit
from billing.risk import blocklist, cases
from billing.risk.errors import RiskError
from billing.risk.models import BlockKind, DecisionKind, DecisionStatus, ReviewCase, ReviewDecision
from billing.stripe import mirror, queue
from billing.stripe.errors import StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for

EXECUTE = "billing.risk.tasks.execute_decision"
BULK_LIMIT = 200
# What "refund and block" can block, read from the review's case.
BLOCKABLE = {
    BlockKind.card_fingerprint: "card_fingerprint",
    BlockKind.email: "email",
    BlockKind.email_domain: "email_domain",
}


def _clean(kind: str, reason: str, block) -> tuple[str, list[str]]:
    if kind not in DecisionKind.values:
        raise RiskError("Choose approve, or refund and block.")
    reason = (reason or "").strip()
    if not reason:
        raise RiskError("Say why: every decision is kept in the audit log with its reason.")
    block = [b for b in dict.fromkeys(block or []) if b]
    unknown = set(block) - set(BLOCKABLE)
    if unknown:
        raise RiskError("Only the card, the email address or the email domain can be blocked from a review.")
    return reason[:2000], block if kind == DecisionKind.refund_block else []


def review_decide(
    *, review: ReviewCase, kind: str, actor, reason: str, request_id: uuid.UUID, block=()
) -> ReviewDecision:
    """Decide one review now. A repeated form (same request id) returns the first decision, sends nothing."""
    existing = ReviewDecision.objects.filter(request_id=request_id).first()
    if existing is not None:
        return existing
    reason, block = _clean(kind, reason, block)
    review = cases.review_refresh(review.pk) or review
    if not review.open:
        raise RiskError(
            f"This review is already closed ({review.closed_reason.replace('_', ' ') or 'closed'}); "
            "nothing was sent to Stripe."
        )
    for what in block:
        if not getattr(review, BLOCKABLE[what]):
            raise RiskError(f"This payment has no {BlockKind(what).label.lower()} to block.")
    with transaction.atomic():
        decision = ReviewDecision.objects.create(
            request_id=request_id, review=review, kind=kind, reason=reason, block=block, actor=actor
        )
        audit(actor, f"risk.review.{kind}.request", review, reason=reason, block=block, decision=decision.pk)
    return decision_execute(decision_id=decision.pk)


def reviews_decide_bulk(
    *, review_ids: list[str], kind: str, actor, reason: str, request_id: uuid.UUID, block=()
) -> tuple[int, int]:
    """Queue one decision per open review (each sent by a task). Returns (queued, skipped as closed)."""
    reason, block = _clean(kind, reason, block)
    review_ids = list(dict.fromkeys(review_ids))
    if not review_ids:
        raise RiskError("Tick the reviews to decide.")
    if len(review_ids) > BULK_LIMIT:
        raise RiskError(f"Decide at most {BULK_LIMIT} reviews at once.")
    open_reviews = list(ReviewCase.objects.filter(pk__in=review_ids, open=True))
    queued: list[int] = []
    with transaction.atomic():
        for review in open_reviews:
            decision, created = ReviewDecision.objects.get_or_create(
                request_id=uuid.uuid5(request_id, review.pk),
                defaults={
                    "review": review,
                    "kind": kind,
                    "reason": reason,
                    "block": [b for b in block if getattr(review, BLOCKABLE[b])],
                    "actor": actor,
                    "bulk": True,
                },
            )
            if created:
                queued.append(decision.pk)
        if queued:
            audit(
                actor,
                f"risk.review.{kind}.bulk",
                object_type="billing_risk.reviewcase",
                object_id="bulk",
                reason=reason,
                block=block,
                reviews=[r.pk for r in open_reviews],
            )
        transaction.on_commit(lambda: [queue.send(EXECUTE, pk) for pk in queued])
    return len(queued), len(review_ids) - len(open_reviews)


def decision_execute(*, decision_id: int) -> ReviewDecision:
    """Send a queued decision to Stripe. Safe to run twice: the key replays Stripe's first answer and
    only the run that marks it done writes the audit entry."""
    decision = ReviewDecision.objects.select_related("review", "actor").get(pk=decision_id)
    if decision.status != DecisionStatus.queued:
        return decision
    review = cases.review_refresh(decision.review_id) or decision.review
    if not review.open:
        return _finish(decision, DecisionStatus.skipped, error=f"already closed ({review.closed_reason}) before it ran")
    client = gateway()
    result: dict = {}
    try:
        if decision.kind == DecisionKind.approve:
            closed = client.post(
                f"/v1/reviews/{review.pk}/approve", {}, idempotency_key=key_for("review.approve", decision)
            )
            mirror.apply_object(closed)
        else:
            refund = client.post(
                "/v1/refunds",
                {
                    "charge": review.charge_id,
                    "reason": "fraudulent",
                    "metadata": {"review": review.pk, "portal_decision": str(decision.pk)},
                },
                idempotency_key=key_for("review.refund", decision),
            )
            mirror.apply_object(refund)
            result["refund"] = refund["id"]
            mirror.apply_object(client.get(f"/v1/reviews/{review.pk}"))  # the refund closed it
    except StripeGatewayError as error:
        return _finish(decision, DecisionStatus.failed, error=error.message)
    blocked = []
    for what in decision.block:
        entry = blocklist.block_entry_add(
            kind=what,
            value=getattr(review, BLOCKABLE[what]),
            reason=decision.reason,
            actor=decision.actor,
            source=review.pk,
            exist_ok=True,
        )
        blocked.append(entry.value)
    result["blocked"] = blocked
    cases.review_refresh(review.pk)
    return _finish(decision, DecisionStatus.done, result=result)


def _finish(decision: ReviewDecision, status: str, *, result: dict | None = None, error: str = "") -> ReviewDecision:
    with transaction.atomic():
        marked = ReviewDecision.objects.filter(pk=decision.pk, status=DecisionStatus.queued).update(
            status=status, result=result or {}, error=error[:2000], done_at=timezone.now()
        )
        if marked:
            audit(
                decision.actor,
                f"risk.review.{decision.kind}"
                if status == DecisionStatus.done
                else f"risk.review.{decision.kind}.{status}",
                object_type="billing_risk.reviewcase",
                object_id=decision.review_id,
                reason=decision.reason,
                decision=decision.pk,
                error=error,
                **(result or {}),
            )
    decision.refresh_from_db()
    return decision
