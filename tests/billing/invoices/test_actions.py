"""Invoice actions against the sandbox: each once, in order (Stripe, mirror, audit), refusals explained."""

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from djstripe.models import Invoice

from accounts.models import AuditLog
from billing.currencies.models import FxRate
from billing.invoices import services
from billing.invoices.models import ActionStatus, CreditNote, InvoiceAction
from billing.stripe.gateway import gateway
from tests.pages import login

pytestmark = pytest.mark.django_db


def act(client, invoice_id, kind, **data):
    return client.post(
        reverse("invoices:act", args=[invoice_id, kind]), {"request_id": str(uuid.uuid4()), **data}, follow=True
    )


def status(invoice_id):
    return Invoice.objects.get(id=invoice_id).stripe_data["status"]


def test_retry_shows_stripes_decline_and_changes_nothing(client, people, failing_invoice):
    invoice_id, _ = failing_invoice
    assert status(invoice_id) == "open"
    login(client, people.admin)
    page = act(client, invoice_id, "retry", reason="customer asked to try again").content.decode()
    assert "Stripe refused:" in page and "declined" in page.lower()
    action = InvoiceAction.objects.get()
    assert action.status == ActionStatus.failed and action.result["decline_code"]
    assert status(invoice_id) == "open"
    assert AuditLog.objects.filter(action="invoice.retry.failed", object_id=invoice_id).exists()


def test_retry_with_a_working_card_collects_and_is_audited_in_order(client, people, failing_invoice):
    invoice_id, customer_id = failing_invoice
    working = gateway().post(
        "/v1/payment_methods/pm_card_visa/attach", {"customer": customer_id}, idempotency_key="t:w"
    )
    from billing.stripe import mirror

    mirror.apply_object(working)
    login(client, people.admin)
    page = act(client, invoice_id, "retry", reason="new card", payment_method=working["id"]).content.decode()
    assert "Retry payment: done." in page
    assert status(invoice_id) == "paid"  # written through in the same request
    entry = AuditLog.objects.get(action="invoice.retry")
    assert entry.data["before"]["status"] == "open" and entry.data["after"]["status"] == "paid"
    assert entry.data["idempotency_key"].startswith("portal:invoice.retry:billing_invoices.invoiceaction:")


@pytest.fixture
def jpy_rate(db):
    FxRate.objects.create(currency="eur", quote="usd", rate=Decimal("1.08"), day="2020-01-01", source="test")
    return FxRate.objects.create(currency="jpy", quote="usd", rate=Decimal("0.0067"), day="2020-01-01", source="test")


def test_a_double_submit_sends_once(client, people, net30_invoice, jpy_rate):
    invoice_id, _ = net30_invoice
    login(client, people.admin)
    request_id = str(uuid.uuid4())
    for _ in range(2):
        client.post(reverse("invoices:act", args=[invoice_id, "void"]), {"request_id": request_id, "reason": "dup"})
    assert InvoiceAction.objects.count() == 1
    assert status(invoice_id) == "void"
    assert AuditLog.objects.filter(action="invoice.void").count() == 1


def test_an_action_on_an_invoice_in_the_wrong_state_is_refused_with_a_message(client, people, paid_invoice):
    invoice_id, _ = paid_invoice
    login(client, people.admin)
    response = act(client, invoice_id, "void", reason="oops")
    assert "does not apply" in response.content.decode()
    assert not InvoiceAction.objects.exists() and status(invoice_id) == "paid"
    response = act(client, invoice_id, "retry", reason="")
    assert response.status_code == 400 and "Say why" in response.content.decode()  # a message, not a 500


def test_big_write_offs_wait_for_a_second_admin(client, people, net30_invoice, settings, django_user_model):
    from accounts.models import StaffProfile, StaffRole

    settings.PORTAL_APPROVAL_THRESHOLD = 5_000  # $50.00
    FxRate.objects.create(currency="jpy", quote="usd", rate=Decimal("0.0067"), day="2020-01-01", source="test")
    invoice_id, _ = net30_invoice  # ¥10,500 ≈ $70.35
    login(client, people.admin)
    act(client, invoice_id, "mark_uncollectible", reason="customer went bankrupt")
    action = InvoiceAction.objects.get()
    assert action.status == ActionStatus.awaiting_approval and status(invoice_id) == "open"
    decide = reverse("invoices:decide", args=[action.pk])
    page = client.post(decide, {"decision": "approve"}, follow=True).content.decode()
    assert "Someone else must approve" in page and status(invoice_id) == "open"
    second = django_user_model.objects.create_user("finance-admin-2", password="pw-for-tests-1")
    StaffProfile.objects.create(user=second, role=StaffRole.admin)
    login(client, people.analyst)
    assert client.post(decide, {"decision": "approve"}).status_code == 403
    login(client, second)
    client.post(decide, {"decision": "approve", "note": "checked the court filing"})
    assert status(invoice_id) == "uncollectible"
    assert AuditLog.objects.filter(action="invoice.mark_uncollectible.approve", actor=second).exists()
    assert AuditLog.objects.get(action="invoice.mark_uncollectible").data["approved_by"] == "finance-admin-2"


def test_credit_notes_per_line_and_full(client, people, paid_invoice, net30_invoice, jpy_rate):
    paid_id, _ = paid_invoice
    login(client, people.admin)
    line = Invoice.objects.get(id=paid_id).stripe_data["lines"]["data"][0]
    act(
        client,
        paid_id,
        "credit_note",
        reason="two seats unused",
        settle="refund",
        credit_reason="order_change",
        **{f"line:{line['id']}": "2"},
    )
    note = CreditNote.objects.get(invoice_id=paid_id)
    assert note.total == 2 * 2800 and note.kind == "post_payment" and note.reason == "order_change"
    net30_id, _ = net30_invoice
    act(client, net30_id, "credit_note", reason="goodwill")
    assert Invoice.objects.get(id=net30_id).stripe_data["amount_due"] == 0
    assert CreditNote.objects.filter(invoice_id=net30_id).get().total == 10_500
    page = act(client, paid_id, "credit_note", reason="again", **{f"line:{line['id']}": "99"}).content.decode()
    assert "Credit between 1 and 10" in page


def test_without_a_rate_a_write_off_waits_for_approval(client, people, net30_invoice):
    invoice_id, _ = net30_invoice
    login(client, people.admin)
    assert "second finance admin" in act(client, invoice_id, "void", reason="x").content.decode()
    assert status(invoice_id) == "open"


def test_support_may_send_but_not_void(client, people, net30_invoice):
    invoice_id, _ = net30_invoice
    login(client, people.support)
    assert act(client, invoice_id, "void", reason="x").status_code == 403
    assert (
        "Send to the customer: done."
        in act(client, invoice_id, "send", reason="asked by the customer").content.decode()
    )
    login(client, people.analyst)
    assert act(client, invoice_id, "send", reason="x").status_code == 403


def test_bulk_retry_queues_one_action_per_applicable_invoice(
    client, people, failing_invoice, paid_invoice, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    failing_id, _ = failing_invoice
    paid_id, _ = paid_invoice
    login(client, people.admin)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            reverse("invoices:bulk"),
            {"kind": "retry", "reason": "Monday sweep", "invoice": [failing_id, paid_id], "request_id": "r1"},
            follow=True,
        ).content.decode()
    assert "1 invoice(s) queued" in page and "left alone" in page
    assert InvoiceAction.objects.get().status == ActionStatus.failed  # the card still declines; nothing else sent
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("invoices:bulk"), {"kind": "retry", "reason": "again", "invoice": [failing_id], "request_id": "r1"}
        )
    assert InvoiceAction.objects.count() == 1  # the same bulk submit twice is one action


def test_unknown_invoice_and_action(client, people):
    login(client, people.admin)
    assert client.get(reverse("invoices:detail", args=["in_nope"])).status_code == 404
    assert client.get(reverse("invoices:act", args=["in_nope", "dance"])).status_code == 404
    assert services.ALLOWED_STATES  # the table exists for every kind
