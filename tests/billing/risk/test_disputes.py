"""The dispute flow against the sandbox: evidence prefilled, files through Stripe's files API, saved,
submitted, resolved won and lost; late evidence, big or foreign files refused before anything is sent."""

import time
import uuid

import pytest

from accounts.models import AuditLog
from billing.risk import disputes, evidence
from billing.risk.errors import RiskError
from billing.risk.models import DisputeCase, EvidenceFile
from billing.stripe.gateway import gateway
from tests.billing.risk.conftest import control
from tests.billing.risk.payloads import next_second, pull_events

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def disputed(paying, **body) -> DisputeCase:
    org, charge_id = paying(country="FR")
    next_second()
    dispute = control(f"/_sandbox/charges/{charge_id}/dispute", {"reason": "subscription_canceled", **body})
    pull_events()
    return DisputeCase.objects.get(pk=dispute["id"])


def test_evidence_prefilled_uploaded_saved_submitted_then_won(paying, people):
    case = disputed(paying)
    assert case.needs_response and case.country == "FR" and case.organisation.name.startswith("Initech")
    draft = evidence.prefill(case)
    assert draft["customer_name"] == case.organisation.name
    assert draft["customer_email_address"] == case.organisation.billing_email
    assert "No cancellation was requested" in draft["cancellation_rebuttal"]
    upload = disputes.dispute_file_upload(
        case=case, field="receipt", filename="receipt.pdf", content=PDF, actor=people.admin, request_id=uuid.uuid4()
    )
    assert upload.file_id.startswith("file_") and upload.type == "PDF"
    log = evidence.prefill(case)["access_activity_log"]
    assert "customer.create" in log and "risk." not in log  # the customer's activity, not our fraud work
    staged = gateway().get(f"/v1/disputes/{case.pk}")
    assert staged["evidence"]["receipt"] == upload.file_id and staged["status"] == "needs_response"
    case = disputes.dispute_evidence_save(
        case=case,
        evidence={"customer_name": draft["customer_name"], "cancellation_rebuttal": draft["cancellation_rebuttal"]},
        submit=False,
        actor=people.admin,
        request_id=uuid.uuid4(),
    )
    assert case.needs_response and case.has_evidence
    case = disputes.dispute_evidence_save(
        case=case,
        evidence={"product_description": "Team plan, 12 seats", "receipt": upload.file_id},
        submit=True,
        actor=people.admin,
        request_id=uuid.uuid4(),
    )
    assert case.status == "under_review" and case.submission_count == 1
    with pytest.raises(RiskError, match="already submitted"):
        disputes.dispute_evidence_save(
            case=case, evidence={"customer_name": "x"}, submit=True, actor=people.admin, request_id=uuid.uuid4()
        )
    next_second()
    control(f"/_sandbox/disputes/{case.pk}/resolve", {"outcome": "won"})
    types = pull_events()
    assert "charge.dispute.closed" in types and "charge.dispute.funds_reinstated" in types
    case.refresh_from_db()
    assert case.status == "won" and case.closed_at is not None
    actions = list(AuditLog.objects.filter(object_id=case.pk).values_list("action", flat=True))
    assert {"risk.dispute.file", "risk.dispute.evidence", "risk.dispute.submit"} <= set(actions)


def test_stripes_losing_evidence_and_accepting_both_end_lost(paying, people):
    case = disputed(paying, reason="fraudulent")
    case = disputes.dispute_evidence_save(
        case=case,
        evidence={"uncategorized_text": "losing_evidence"},
        submit=True,
        actor=people.admin,
        request_id=uuid.uuid4(),
    )
    pull_events()
    case.refresh_from_db()
    assert case.status == "lost"
    other = disputed(paying)
    with pytest.raises(RiskError, match="Say why"):
        disputes.dispute_accept(case=other, actor=people.admin, reason="")
    other = disputes.dispute_accept(case=other, actor=people.admin, reason="The customer is right")
    assert other.status == "lost"


def test_late_evidence_is_refused_and_nothing_is_sent(paying, people, stripe_calls):
    case = disputed(paying, due_by=int(time.time()) + 2)
    time.sleep(2.1)
    stripe_calls.clear()
    with pytest.raises(RiskError, match="no longer accepts"):
        disputes.dispute_evidence_save(
            case=case, evidence={"customer_name": "Acme"}, submit=True, actor=people.admin, request_id=uuid.uuid4()
        )
    with pytest.raises(RiskError, match="no longer accepts"):
        disputes.dispute_file_upload(
            case=case, field="receipt", filename="r.pdf", content=PDF, actor=people.admin, request_id=uuid.uuid4()
        )
    assert not [c for c in stripe_calls if c[0] == "POST"]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (PDF + b"0" * (5 * 1024 * 1024), "big.pdf", "up to 5 MB"),
        (b"PK\x03\x04 a word document", "letter.docx", "not a PDF, JPEG or PNG"),
        (b"", "empty.pdf", "empty"),
    ],
)
def test_files_stripe_would_refuse_are_refused_here(paying, people, stripe_calls, content, name, message):
    case = disputed(paying)
    stripe_calls.clear()
    with pytest.raises(RiskError, match=message):
        disputes.dispute_file_upload(
            case=case, field="receipt", filename=name, content=content, actor=people.admin, request_id=uuid.uuid4()
        )
    assert not stripe_calls and not EvidenceFile.objects.exists()


def test_evidence_stripe_would_refuse_is_refused_here(paying, people, stripe_calls):
    case = disputed(paying)
    stripe_calls.clear()
    for bad, message in (
        ({"access_activity_log": "x" * 20_001}, "at most 20,000"),
        ({"favourite_colour": "blue"}, "Unknown evidence field"),
        ({"receipt": "file_not_ours"}, "choose a file uploaded"),
        ({f: "y" * 19_000 for f in evidence.TEXT_FIELDS if evidence.BY_NAME[f].kind == "long"}, "150,000"),
    ):
        with pytest.raises(RiskError, match=message):
            disputes.dispute_evidence_save(
                case=case, evidence=bad, submit=False, actor=people.admin, request_id=uuid.uuid4()
            )
    with pytest.raises(RiskError, match="no evidence to submit"):
        disputes.dispute_evidence_save(case=case, evidence={}, submit=True, actor=people.admin, request_id=uuid.uuid4())
    assert not stripe_calls
