"""Radar and disputes: reviews closed by refunds, early fraud warnings, dispute evidence with Stripe's
limits, the files API, resolution won or lost, and value lists."""

import io
import json
import time
import urllib.error
import urllib.request

import pytest
import stripe

from tests.stripe_sandbox.conftest import control, customer_with_card

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def paid_charge(sb, token="pm_card_visa", amount=5000):
    customer, pm = customer_with_card(sb, token=token)
    intent = sb.v1.payment_intents.create(
        {"amount": amount, "currency": "usd", "customer": customer.id, "payment_method": pm, "confirm": True}
    )
    return intent.latest_charge


def events_of(sb, prefix: str) -> list[dict]:
    request = urllib.request.Request(
        f"{sb.url}/v1/events?limit=100", headers={"Authorization": "Bearer sk_test_sandboxtests000000000000000"}
    )
    data = json.loads(urllib.request.urlopen(request).read())["data"]
    return [e for e in reversed(data) if e["type"].startswith(prefix)]


def control_error(url: str, path: str, body: dict) -> tuple[int, dict]:
    try:
        control(url, path, body)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    raise AssertionError("the control route accepted it")


def upload(sb, content: bytes, name="evidence.pdf", purpose="dispute_evidence"):
    stream = io.BytesIO(content)
    stream.name = name
    return sb.v1.files.create({"purpose": purpose, "file": stream})


def test_a_review_is_closed_by_a_fraud_refund_and_cannot_be_approved_then(sb):
    charge_id = paid_charge(sb)
    review = control(sb.url, f"/_sandbox/charges/{charge_id}/review", {"risk_score": 80, "ip_country": "NG"})
    assert review["ip_address_location"]["country"] == "NG"
    charge = sb.v1.charges.retrieve(charge_id)
    assert charge.review == review["id"] and charge.outcome.risk_score == 80 and charge.outcome.risk_level == "highest"
    assert len(charge.payment_method_details.card.fingerprint) == 16
    sb.v1.refunds.create({"charge": charge_id, "reason": "fraudulent"})
    closed = sb.v1.reviews.retrieve(review["id"])
    assert not closed.open and closed.closed_reason == "refunded_as_fraud"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sb.v1.reviews.approve(review["id"])
    assert refused.value.http_status == 400 and "already closed" in refused.value.user_message
    assert [e["type"] for e in events_of(sb, "review.")] == ["review.opened", "review.closed"]


def test_the_elevated_risk_card_opens_a_review_its_charge_already_carries(sb):
    charge_id = paid_charge(sb, token="pm_card_riskLevelElevated")
    succeeded = next(e for e in events_of(sb, "charge.succeeded"))
    assert succeeded["data"]["object"]["review"] and succeeded["data"]["object"]["outcome"]["risk_level"] == "elevated"
    approved = sb.v1.reviews.approve(sb.v1.charges.retrieve(charge_id).review)
    assert approved.closed_reason == "approved"


def test_an_early_fraud_warning_stops_being_actionable_once_refunded(sb):
    charge_id = paid_charge(sb)
    warning = control(
        sb.url, f"/_sandbox/charges/{charge_id}/early_fraud_warning", {"fraud_type": "card_never_received"}
    )
    assert warning["actionable"] and warning["fraud_type"] == "card_never_received"
    assert sb.v1.radar.early_fraud_warnings.retrieve(warning["id"]).charge == charge_id
    assert [w.id for w in sb.v1.radar.early_fraud_warnings.list({"charge": charge_id}).data] == [warning["id"]]
    sb.v1.refunds.create({"charge": charge_id})
    assert not sb.v1.radar.early_fraud_warnings.retrieve(warning["id"]).actionable
    types = [e["type"] for e in events_of(sb, "radar.")]
    assert types == ["radar.early_fraud_warning.created", "radar.early_fraud_warning.updated"]


def test_dispute_evidence_staged_then_submitted_then_won(sb):
    charge_id = paid_charge(sb)
    due = int(time.time()) + 3 * 86400
    dispute = control(
        sb.url, f"/_sandbox/charges/{charge_id}/dispute", {"reason": "subscription_canceled", "due_by": due}
    )
    assert dispute["status"] == "needs_response" and dispute["evidence_details"]["due_by"] == due
    assert dispute["evidence"]["receipt"] is None and dispute["balance_transactions"][0]["amount"] == -5000
    receipt = upload(sb, PDF)
    assert receipt.purpose == "dispute_evidence" and receipt.type == "pdf" and receipt.size == len(PDF)
    draft = sb.v1.disputes.update(
        dispute["id"],
        {"evidence": {"customer_name": "Acme", "receipt": receipt.id, "service_date": "2026-05-01"}, "submit": False},
    )
    assert draft.status == "needs_response" and draft.evidence.receipt == receipt.id
    assert draft.evidence_details.has_evidence and draft.evidence_details.submission_count == 0
    submitted = sb.v1.disputes.update(dispute["id"], {"evidence": {"product_description": "Team plan"}})
    assert submitted.status == "under_review" and submitted.evidence_details.submission_count == 1
    assert submitted.evidence.customer_name == "Acme"  # staged evidence is kept
    with pytest.raises(stripe.InvalidRequestError) as locked:
        sb.v1.disputes.update(dispute["id"], {"evidence": {"customer_name": "Other"}})
    assert "under review" in locked.value.user_message
    won = control(sb.url, f"/_sandbox/disputes/{dispute['id']}/resolve", {"outcome": "won"})
    assert won["status"] == "won" and [t["amount"] for t in won["balance_transactions"]] == [-5000, 5000]
    assert control_error(sb.url, f"/_sandbox/disputes/{dispute['id']}/resolve", {"outcome": "lost"})[0] == 400
    types = [e["type"] for e in events_of(sb, "charge.dispute.")]
    assert types == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]


def test_stripes_test_evidence_decides_a_dispute_and_a_closed_one_cannot_change(sb):
    charge_id = paid_charge(sb)
    dispute = control(sb.url, f"/_sandbox/charges/{charge_id}/dispute", {})
    lost = sb.v1.disputes.update(dispute["id"], {"evidence": {"uncategorized_text": "losing_evidence"}})
    assert lost.status == "lost"
    with pytest.raises(stripe.InvalidRequestError) as closed:
        sb.v1.disputes.update(dispute["id"], {"metadata": {"note": "x"}})
    assert "already closed" in closed.value.user_message
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.disputes.close(dispute["id"])


def test_evidence_refused_as_stripe_refuses_it(sb):
    charge_id = paid_charge(sb)
    dispute = control(sb.url, f"/_sandbox/charges/{charge_id}/dispute", {})
    for evidence, param in (
        ({"favourite_colour": "blue"}, "evidence[favourite_colour]"),
        ({"uncategorized_text": "x" * 20_001}, "evidence[uncategorized_text]"),
        ({"receipt": "file_nope"}, "evidence[receipt]"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sb.v1.disputes.update(dispute["id"], {"evidence": evidence, "submit": False})
        assert refused.value.error.param == param
    logo = upload(sb, PNG, "logo.png", purpose="business_logo")
    with pytest.raises(stripe.InvalidRequestError) as wrong_purpose:
        sb.v1.disputes.update(dispute["id"], {"evidence": {"receipt": logo.id}, "submit": False})
    assert "dispute_evidence" in wrong_purpose.value.user_message
    big = {f: "y" * 19_000 for f in ("access_activity_log", "cancellation_rebuttal", "product_description")}
    big |= {f: "y" * 19_000 for f in ("refund_policy_disclosure", "refund_refusal_explanation", "uncategorized_text")}
    big |= {f: "y" * 19_000 for f in ("cancellation_policy_disclosure", "duplicate_charge_explanation")}
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        sb.v1.disputes.update(dispute["id"], {"evidence": big, "submit": False})
    assert "150,000" in too_much.value.user_message
    assert sb.v1.disputes.retrieve(dispute["id"]).evidence_details.has_evidence is False  # nothing was kept


def test_evidence_after_the_due_date_is_refused(sb):
    charge_id = paid_charge(sb)
    dispute = control(sb.url, f"/_sandbox/charges/{charge_id}/dispute", {"due_by": int(time.time()) - 60})
    with pytest.raises(stripe.InvalidRequestError) as late:
        sb.v1.disputes.update(dispute["id"], {"evidence": {"customer_name": "Acme"}})
    assert "due date" in late.value.user_message
    assert sb.v1.disputes.retrieve(dispute["id"]).status == "needs_response"


def test_files_accept_what_stripe_accepts_per_purpose(sb):
    jpeg = upload(sb, b"\xff\xd8\xff\xe0" + b"\x00" * 100, "photo.jpg")
    assert jpeg.type == "jpg" and jpeg.expires_at > jpeg.created
    with pytest.raises(stripe.InvalidRequestError) as too_big:
        upload(sb, PDF + b"0" * (5 * 1024 * 1024))
    assert too_big.value.error.param == "file" and "5 MB" in too_big.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as wrong_type:
        upload(sb, b"PK\x03\x04 a zip file", "evidence.docx")
    assert wrong_type.value.error.param == "file" and "PDF, JPEG, PNG" in wrong_type.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as purpose:
        upload(sb, PDF, purpose="holiday_photos")
    assert purpose.value.error.param == "purpose"
    assert [f.id for f in sb.v1.files.list({"purpose": "dispute_evidence"}).data] == [jpeg.id]
    assert sb.v1.files.retrieve(jpeg.id).filename == "photo.jpg"


def test_value_lists_hold_values_of_their_type(sb):
    emails = sb.v1.radar.value_lists.create({"alias": "blocked_emails", "name": "Blocked emails", "item_type": "email"})
    item = sb.v1.radar.value_list_items.create({"value_list": emails.id, "value": "Fraud@Example.com"})
    assert item.value == "fraud@example.com"
    with pytest.raises(stripe.InvalidRequestError) as duplicate:
        sb.v1.radar.value_list_items.create({"value_list": emails.id, "value": "fraud@example.com"})
    assert duplicate.value.code == "resource_already_exists"
    with pytest.raises(stripe.InvalidRequestError) as not_email:
        sb.v1.radar.value_list_items.create({"value_list": emails.id, "value": "not an email"})
    assert not_email.value.error.param == "value"
    with pytest.raises(stripe.InvalidRequestError):
        sb.v1.radar.value_lists.create({"alias": "blocked_emails", "name": "Again", "item_type": "email"})
    countries = sb.v1.radar.value_lists.create({"alias": "blocked_countries", "name": "C", "item_type": "country"})
    assert sb.v1.radar.value_list_items.create({"value_list": countries.id, "value": "kp"}).value == "KP"
    listed = sb.v1.radar.value_list_items.list({"value_list": emails.id})
    assert [i.id for i in listed.data] == [item.id]
    assert sb.v1.radar.value_lists.retrieve(emails.id).list_items.data[0].value == "fraud@example.com"
    assert [v.id for v in sb.v1.radar.value_lists.list({"alias": "blocked_countries"}).data] == [countries.id]
    deleted = sb.v1.radar.value_list_items.delete(item.id)
    assert deleted.deleted and sb.v1.radar.value_list_items.list({"value_list": emails.id}).data == []


def test_files_value_lists_and_disputes_have_stripes_keys(sb):
    from tests.stripe_sandbox.test_shapes import KEYS, json_type

    charge_id = paid_charge(sb)
    dispute = control(sb.url, f"/_sandbox/charges/{charge_id}/dispute", {})
    value_list = sb.v1.radar.value_lists.create({"alias": "fp", "name": "Cards", "item_type": "card_fingerprint"})
    objects = {
        "file": upload(sb, PDF).to_dict(),
        "dispute": sb.v1.disputes.retrieve(dispute["id"]).to_dict(),
        "radar.value_list_item": sb.v1.radar.value_list_items.create(
            {"value_list": value_list.id, "value": "Xt5EWLLDS7FJjR1c"}
        ).to_dict(),
        "radar.value_list": sb.v1.radar.value_lists.retrieve(value_list.id).to_dict(),
    }
    problems = [
        f"{name}.{key}"
        for name, obj in objects.items()
        for key, value in KEYS[name].items()
        if key not in obj or (obj[key] is not None and value is not None and json_type(obj[key]) != json_type(value))
    ]
    assert not problems, problems
    assert set(KEYS["dispute"]["evidence"]) <= set(objects["dispute"]["evidence"])
