"""Working a dispute: evidence staged or submitted to Stripe, files through Stripe's files API, or the
dispute accepted. Each refuses what Stripe would refuse (late, closed, too long, too big, wrong type)
before sending anything, with a message for people; each write carries a key from our own rows."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit
from billing.risk import cases
from billing.risk.errors import RiskError
from billing.risk.evidence import (
    BY_NAME,
    FIELD_LIMIT,
    FILE_FIELDS,
    FILE_MAX_BYTES,
    FILE_TYPES,
    SHORT_LIMIT,
    TEXT_FIELDS,
    TOTAL_LIMIT,
)
from billing.risk.models import DisputeCase, EvidenceFile
from billing.stripe import mirror
from billing.stripe.errors import StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for


def sniff(content: bytes) -> str | None:
    """The file's type from its first bytes (as Stripe reads it): pdf, jpg or png; anything else None."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    return None


def _open_case(case: DisputeCase) -> DisputeCase:
    """The case as the mirror has it now, refused unless evidence can still be sent."""
    case = cases.dispute_refresh(case.pk) or case
    if case.is_closed:
        raise RiskError(f"This dispute is closed ({case.status.replace('_', ' ')}): nothing was sent to Stripe.")
    if not case.needs_response:
        raise RiskError("The evidence was already submitted and the bank is reviewing it: it can no longer change.")
    if case.past_due:
        raise RiskError(
            f"The evidence was due {case.due_by:%Y-%m-%d %H:%M} UTC: Stripe no longer accepts evidence for this "
            "dispute. Nothing was sent."
        )
    return case


def _stripe_error(error: StripeGatewayError) -> RiskError:
    return RiskError(f"Stripe refused it: {error.message}")


def clean_evidence(case: DisputeCase, evidence: dict) -> dict:
    """Stripe's limits, checked here so nothing half-valid is sent: known fields only, 20,000 characters
    for long fields, 150,000 in all, and file fields naming files uploaded for this dispute."""
    cleaned: dict[str, str] = {}
    for name, value in evidence.items():
        field = BY_NAME.get(name)
        if field is None:
            raise RiskError(f"Unknown evidence field: {name[:60]}.")
        value = (value or "").replace("\x00", "").strip()
        if field.kind == "long" and len(value) > FIELD_LIMIT:
            raise RiskError(f"{field.label}: {len(value):,} characters; Stripe accepts at most {FIELD_LIMIT:,}.")
        if field.kind == "short" and len(value) > SHORT_LIMIT:
            raise RiskError(f"{field.label}: at most {SHORT_LIMIT:,} characters.")
        if field.kind == "file" and value and not EvidenceFile.objects.filter(file_id=value, dispute=case).exists():
            raise RiskError(f"{field.label}: choose a file uploaded for this dispute.")
        cleaned[name] = value
    total = sum(len(v) for k, v in cleaned.items() if k in TEXT_FIELDS)
    if total > TOTAL_LIMIT:
        raise RiskError(f"The evidence is {total:,} characters in all; Stripe accepts at most {TOTAL_LIMIT:,}.")
    return cleaned


def dispute_evidence_save(
    *, case: DisputeCase, evidence: dict, submit: bool, actor, request_id: uuid.UUID
) -> DisputeCase:
    """Stage the evidence on the dispute (`submit=False`) or submit it to the bank. A repeated form sends
    the same idempotency key, so Stripe answers it once."""
    case = _open_case(case)
    cleaned = clean_evidence(case, evidence)
    if submit and not any(cleaned.values()):
        raise RiskError("There is no evidence to submit: fill in at least one field.")
    try:
        dispute = gateway().post(
            f"/v1/disputes/{case.pk}",
            {"evidence": cleaned, "submit": "true" if submit else "false"},
            idempotency_key=key_for("dispute.evidence", case, request_id),
        )
    except StripeGatewayError as error:
        raise _stripe_error(error) from error
    with transaction.atomic():
        mirror.apply_object(dispute)
        case = cases.dispute_refresh(case.pk) or case
        audit(
            actor,
            "risk.dispute.submit" if submit else "risk.dispute.evidence",
            case,
            organisation=case.organisation,
            fields=sorted(k for k, v in cleaned.items() if v),
            status=case.status,
        )
    return case


def dispute_file_upload(
    *, case: DisputeCase, field: str, filename: str, content: bytes, actor, request_id: uuid.UUID
) -> EvidenceFile:
    """Send a file to Stripe's files API (purpose `dispute_evidence`) and stage it on the dispute."""
    if field not in FILE_FIELDS:
        raise RiskError("Choose which evidence the file is.")
    if not content:
        raise RiskError("The file is empty.")
    if len(content) > FILE_MAX_BYTES:
        raise RiskError(
            f"{filename} is {len(content) / 1024 / 1024:.1f} MB; Stripe accepts dispute evidence files up to 5 MB. "
            "Nothing was sent."
        )
    kind = sniff(content)
    if kind is None:
        raise RiskError(f"{filename} is not a PDF, JPEG or PNG; Stripe accepts only those for dispute evidence.")
    case = _open_case(case)
    name = "".join(ch for ch in filename if ch.isprintable() and ch not in '/\\"')[:200] or f"evidence.{kind}"
    try:
        uploaded = gateway().upload(
            "/v1/files",
            {"purpose": "dispute_evidence"},
            filename=name,
            content=content,
            idempotency_key=key_for("dispute.file", case, request_id),
        )
        dispute = gateway().post(
            f"/v1/disputes/{case.pk}",
            {"evidence": {field: uploaded["id"]}, "submit": "false"},
            idempotency_key=key_for("dispute.file.stage", case, request_id),
        )
    except StripeGatewayError as error:
        raise _stripe_error(error) from error
    with transaction.atomic():
        upload, _ = EvidenceFile.objects.get_or_create(
            file_id=uploaded["id"],
            defaults={
                "dispute": case,
                "field": field,
                "filename": name,
                "size": uploaded.get("size") or len(content),
                "type": FILE_TYPES.get(kind, kind),
                "uploaded_by": actor,
            },
        )
        mirror.apply_object(dispute)
        cases.dispute_refresh(case.pk)
        audit(actor, "risk.dispute.file", case, organisation=case.organisation, file=upload.file_id, field=field)
    return upload


def dispute_accept(*, case: DisputeCase, actor, reason: str) -> DisputeCase:
    """Accept the dispute as lost (Stripe's close): no evidence will be sent."""
    reason = (reason or "").strip()
    if not reason:
        raise RiskError("Say why the dispute is accepted: it is kept in the audit log.")
    case = _open_case(case)
    try:
        dispute = gateway().post(f"/v1/disputes/{case.pk}/close", {}, idempotency_key=key_for("dispute.accept", case))
    except StripeGatewayError as error:
        raise _stripe_error(error) from error
    with transaction.atomic():
        mirror.apply_object(dispute)
        case = cases.dispute_refresh(case.pk, at=timezone.now()) or case
        audit(actor, "risk.dispute.accept", case, organisation=case.organisation, reason=reason)
    return case
