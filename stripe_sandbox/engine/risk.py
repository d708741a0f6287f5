"""Radar and disputes: reviews, early fraud warnings, disputes with their evidence, due dates, funds
withdrawn and reinstated, and resolution (won or lost). Below `payments`, which calls in here when a
charge is refunded or disputed."""

from __future__ import annotations

import time

from ..core import SandboxError, copy_of, make, new_id
from ..routing import Api

DAY = 86400
DISPUTE_FEE = 1500  # Stripe's dispute fee, in the dispute's currency here (Stripe takes it in the account's)
EVIDENCE_DAYS = 7  # Stripe's due dates depend on the card network; a week in the sandbox unless asked

# Stripe's dispute evidence: text fields (with their own limit when Stripe has one) and file fields.
LONG_TEXT = {
    "access_activity_log",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "duplicate_charge_explanation",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "uncategorized_text",
}
SHORT_TEXT = {
    "billing_address",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_id",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
}
FILE_FIELDS = {
    "cancellation_policy",
    "customer_communication",
    "customer_signature",
    "duplicate_charge_documentation",
    "receipt",
    "refund_policy",
    "service_documentation",
    "shipping_documentation",
    "uncategorized_file",
}
FIELD_LIMIT = 20_000
TOTAL_LIMIT = 150_000
OPEN = ("needs_response", "warning_needs_response")
UNDER_REVIEW = {"needs_response": "under_review", "warning_needs_response": "warning_under_review"}
CLOSED = ("won", "lost", "warning_closed", "prevented")
REASONS = {
    "bank_cannot_process": "13.7",
    "credit_not_processed": "13.6",
    "customer_initiated": "13.7",
    "debit_not_authorized": "10.4",
    "duplicate": "12.6.1",
    "fraudulent": "10.4",
    "general": "13.7",
    "incorrect_account_details": "12.5",
    "insufficient_funds": "13.7",
    "product_not_received": "13.1",
    "product_unacceptable": "13.3",
    "subscription_canceled": "13.2",
    "unrecognized": "10.4",
}
# Stripe's test-mode evidence: this text in `uncategorized_text` decides a submitted dispute at once.
WINNING_EVIDENCE = "winning_evidence"
LOSING_EVIDENCE = "losing_evidence"


def empty_evidence() -> dict:
    fields = LONG_TEXT | SHORT_TEXT | FILE_FIELDS
    return {**dict.fromkeys(sorted(fields)), "enhanced_evidence": {}}


def _balance_transaction(dispute: dict, amount: int, fee: int, description: str, now: int) -> dict:
    return make(
        "balance_transaction",
        id=new_id("balance_transaction"),
        amount=amount,
        fee=fee,
        net=amount - fee,
        currency=dispute["currency"],
        created=now,
        available_on=now,
        description=description,
        fee_details=[
            {
                "amount": fee,
                "application": None,
                "currency": dispute["currency"],
                "description": "Dispute fee",
                "type": "stripe_fee",
            }
        ]
        if fee
        else [],
        reporting_category="dispute" if amount < 0 else "dispute_reversal",
        source=dispute["id"],
        status="available",
        type="adjustment",
        exchange_rate=None,
        balance_type="payments",
    )


# --- reviews --------------------------------------------------------------------------------------
def open_review(
    api: Api,
    charge: dict,
    reason: str = "rule",
    *,
    risk_score: int | None = None,
    rule: dict | None = None,
    ip_address: str | None = None,
    ip_country: str | None = None,
    announce_charge: bool = True,
) -> dict:
    """Open a Radar review on a charge. `announce_charge=False` while the charge's own creation events
    are still to be sent (they then carry the review)."""
    if charge.get("review") and (api.state.objects.get(charge["review"]) or {}).get("open"):
        raise SandboxError(400, f"Charge {charge['id']} already has an open review.", code="review_exists")
    review = make(
        "review",
        id=new_id("review"),
        charge=charge["id"],
        payment_intent=charge["payment_intent"],
        open=True,
        reason=reason,
        opened_reason=reason,
        closed_reason=None,
        created=int(time.time()),
        billing_zip=(charge.get("billing_details") or {}).get("address", {}).get("postal_code")
        if charge.get("billing_details")
        else None,
        ip_address=ip_address,
        ip_address_location={
            "city": None,
            "country": ip_country,
            "latitude": None,
            "longitude": None,
            "region": None,
        }
        if ip_address or ip_country
        else None,
        session=None,
    )
    api.state.add(review)
    charge["review"] = review["id"]
    outcome = {**charge["outcome"], "type": "manual_review", "risk_level": "elevated"}
    if risk_score is not None:
        outcome["risk_score"] = int(risk_score)
        outcome["risk_level"] = "highest" if risk_score >= 75 else "elevated" if risk_score >= 65 else "normal"
    if rule:
        outcome["rule"] = {
            "id": rule.get("id") or "rule_review_elevated",
            "action": "review",
            "predicate": rule.get("predicate") or "",
        }
    charge["outcome"] = outcome
    if announce_charge:
        api.emit("charge.updated", charge, {"review": None})
    api.emit("review.opened", review)
    return review


def close_review(api: Api, review: dict, closed_reason: str) -> dict:
    review.update(open=False, closed_reason=closed_reason, reason=closed_reason)
    api.state.dirty = True
    api.emit("review.closed", review)
    return review


def close_reviews_of(api: Api, charge: dict, closed_reason: str) -> None:
    review = api.state.objects.get(charge.get("review") or "")
    if review and review.get("open"):
        close_review(api, review, closed_reason)


# --- early fraud warnings -------------------------------------------------------------------------
def open_early_fraud_warning(api: Api, charge: dict, fraud_type: str = "made_with_stolen_card") -> dict:
    warning = make(
        "radar.early_fraud_warning",
        id=new_id("radar.early_fraud_warning"),
        actionable=not charge.get("refunded") and not charge.get("disputed"),
        charge=charge["id"],
        payment_intent=charge["payment_intent"],
        created=int(time.time()),
        fraud_type=fraud_type,
    )
    api.state.add(warning)
    api.emit("radar.early_fraud_warning.created", warning)
    return warning


def settle_warnings_of(api: Api, charge: dict) -> None:
    """A warning stops being actionable once its charge is fully refunded or disputed (as Stripe does)."""
    if not (charge.get("refunded") or charge.get("disputed")):
        return
    for warning in api.state.all("radar.early_fraud_warning"):
        if warning["charge"] == charge["id"] and warning["actionable"]:
            warning["actionable"] = False
            api.state.dirty = True
            api.emit("radar.early_fraud_warning.updated", warning, {"actionable": True})


# --- disputes -------------------------------------------------------------------------------------
def open_dispute(
    api: Api, charge: dict, reason: str = "fraudulent", *, due_by: int | None = None, amount: int | None = None
) -> dict:
    if reason not in REASONS:
        raise SandboxError(400, f"Invalid dispute reason: {reason!r}.", param="reason")
    if not charge.get("paid"):
        raise SandboxError(400, f"Charge {charge['id']} has not succeeded; it cannot be disputed.")
    if any(d["charge"] == charge["id"] for d in api.state.all("dispute")):
        raise SandboxError(400, f"Charge {charge['id']} is already disputed.", code="charge_disputed")
    now = int(time.time())
    amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
    details = charge.get("payment_method_details") or {}
    dispute = make(
        "dispute",
        id=new_id("dispute"),
        amount=amount,
        currency=charge["currency"],
        charge=charge["id"],
        payment_intent=charge["payment_intent"],
        reason=reason,
        status="needs_response",
        created=now,
        is_charge_refundable=False,
        evidence=empty_evidence(),
        evidence_details={
            "due_by": due_by or now + EVIDENCE_DAYS * DAY,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "enhanced_eligibility": {},
        },
        payment_method_details={
            "type": "card",
            "card": {
                "brand": (details.get("card") or {}).get("brand") or "visa",
                "case_type": "chargeback",
                "network_reason_code": REASONS[reason],
            },
        }
        if details.get("type") == "card"
        else {"type": details.get("type")},
        enhanced_eligibility_types=[],
        metadata={},
    )
    dispute["balance_transactions"] = [
        _balance_transaction(dispute, -amount, DISPUTE_FEE, f"Chargeback withdrawal for {charge['id']}", now)
    ]
    api.state.add(dispute)
    charge["disputed"] = True
    api.emit("charge.dispute.created", dispute)
    api.emit("charge.dispute.funds_withdrawn", dispute)
    close_reviews_of(api, charge, "disputed")
    settle_warnings_of(api, charge)
    return dispute


def refresh_past_due(dispute: dict) -> None:
    details = dispute["evidence_details"]
    details["past_due"] = dispute["status"] in OPEN and int(time.time()) > (details.get("due_by") or 0)


def _check_evidence(api: Api, evidence) -> dict:
    if not isinstance(evidence, dict):
        raise SandboxError(400, "Invalid object", param="evidence")
    clean: dict = {}
    for key, value in evidence.items():
        param = f"evidence[{key}]"
        if key == "enhanced_evidence":
            clean[key] = value if isinstance(value, dict) else {}
            continue
        if key not in LONG_TEXT | SHORT_TEXT | FILE_FIELDS:
            raise SandboxError(400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param)
        if not isinstance(value, str):
            raise SandboxError(400, "Invalid string", param=param)
        if value == "":
            clean[key] = None
            continue
        if key in FILE_FIELDS:
            upload = api.state.objects.get(value)
            if upload is None or upload["object"] != "file":
                raise SandboxError(404, f"No such file upload: '{value}'", code="resource_missing", param=param)
            if upload["purpose"] != "dispute_evidence":
                raise SandboxError(
                    400,
                    f"The file {value} was uploaded with purpose `{upload['purpose']}`; dispute evidence needs "
                    "files uploaded with purpose `dispute_evidence`.",
                    param=param,
                )
        elif key in LONG_TEXT and len(value) > FIELD_LIMIT:
            raise SandboxError(
                400, f"{param} is too long ({len(value)} characters; at most {FIELD_LIMIT:,}).", param=param
            )
        elif key in SHORT_TEXT and len(value) > 5000:
            raise SandboxError(400, f"{param} is too long (at most 5,000 characters).", param=param)
        clean[key] = value
    return clean


def update_dispute(api: Api, dispute: dict, *, evidence=None, metadata=None, submit: bool = True) -> dict:
    """Stage evidence on a dispute, and submit it to the bank unless `submit` is false."""
    refresh_past_due(dispute)
    if dispute["status"] in CLOSED:
        raise SandboxError(
            400,
            f"This dispute is already closed ({dispute['status']}); it can no longer be updated.",
            code="dispute_already_closed",
        )
    changes_evidence = evidence is not None or submit
    if changes_evidence and dispute["status"] not in OPEN:
        raise SandboxError(
            400,
            "This dispute's evidence was already submitted and is under review; it can no longer be changed.",
            code="dispute_evidence_already_submitted",
        )
    if changes_evidence and dispute["evidence_details"]["past_due"]:
        raise SandboxError(
            400,
            "The evidence due date for this dispute has passed; evidence can no longer be submitted.",
            code="dispute_evidence_past_due",
        )
    previous: dict = {}
    if evidence is not None:
        clean = _check_evidence(api, evidence)
        merged = {**(dispute.get("evidence") or empty_evidence()), **clean}
        total = sum(len(v) for k, v in merged.items() if isinstance(v, str) and k not in FILE_FIELDS)
        if total > TOTAL_LIMIT:
            raise SandboxError(
                400,
                f"The combined evidence is {total:,} characters; Stripe accepts at most {TOTAL_LIMIT:,}.",
                param="evidence",
            )
        if merged != dispute.get("evidence"):
            previous["evidence"] = copy_of(dispute.get("evidence"))
            dispute["evidence"] = merged
        has = any(v for k, v in merged.items() if k != "enhanced_evidence")
        if has != dispute["evidence_details"]["has_evidence"]:
            previous["evidence_details"] = copy_of(dispute["evidence_details"])
            dispute["evidence_details"]["has_evidence"] = has
    if metadata is not None:
        merged_meta = {k: v for k, v in {**dispute["metadata"], **metadata}.items() if v not in ("", None)}
        if merged_meta != dispute["metadata"]:
            previous["metadata"] = dispute["metadata"]
            dispute["metadata"] = merged_meta
    if submit:
        previous.setdefault("evidence_details", copy_of(dispute["evidence_details"]))
        previous["status"] = dispute["status"]
        dispute["evidence_details"]["submission_count"] += 1
        dispute["status"] = UNDER_REVIEW[dispute["status"]]
    api.state.dirty = True
    if previous:
        api.emit("charge.dispute.updated", dispute, previous)
    if submit:
        text = (dispute["evidence"] or {}).get("uncategorized_text") or ""
        if WINNING_EVIDENCE in text:
            resolve_dispute(api, dispute, "won")
        elif LOSING_EVIDENCE in text:
            resolve_dispute(api, dispute, "lost")
    return dispute


def resolve_dispute(api: Api, dispute: dict, outcome: str) -> dict:
    """The bank decides: won reinstates the funds (and the fee), lost keeps them withdrawn."""
    if outcome not in ("won", "lost"):
        raise SandboxError(400, "outcome must be won or lost", param="outcome")
    if dispute["status"] in CLOSED:
        raise SandboxError(400, f"This dispute is already closed ({dispute['status']}).", code="dispute_already_closed")
    now = int(time.time())
    warning = dispute["status"].startswith("warning_")
    dispute["status"] = "warning_closed" if warning else outcome
    dispute["evidence_details"]["past_due"] = False
    if outcome == "won" and not warning:
        dispute["balance_transactions"].append(
            _balance_transaction(dispute, dispute["amount"], -DISPUTE_FEE, "Chargeback reversal", now)
        )
    api.state.dirty = True
    api.emit("charge.dispute.closed", dispute)
    if outcome == "won" and not warning:
        api.emit("charge.dispute.funds_reinstated", dispute)
    return dispute


def accept_dispute(api: Api, dispute: dict) -> dict:
    """`POST /v1/disputes/{id}/close`: the merchant accepts the dispute as lost."""
    refresh_past_due(dispute)
    if dispute["status"] in CLOSED:
        raise SandboxError(400, f"This dispute is already closed ({dispute['status']}).", code="dispute_already_closed")
    dispute["status"] = "warning_closed" if dispute["status"].startswith("warning_") else "lost"
    api.state.dirty = True
    api.emit("charge.dispute.closed", dispute)
    return dispute
