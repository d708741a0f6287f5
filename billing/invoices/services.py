"""Finance's actions on invoices: retry, void, mark uncollectible, send, credit note, paid out of band.

Each is an `InvoiceAction` row first (its id is the idempotency key), checked against the invoice's
state as mirrored, held for a second admin when the amount at stake calls for it, then sent to
Stripe; Stripe's answer is written through into the mirror and the audit log, in that order. A
refusal from Stripe is kept on the action with Stripe's own words and changes nothing here.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from djstripe.models import Invoice, PaymentMethod

from accounts.audit import audit
from accounts.models import Organisation
from billing.currencies.fx import RateBook
from billing.invoices.models import ActionKind, ActionStatus, CreditNote, InvoiceAction
from billing.stripe import mirror, queue
from billing.stripe.errors import StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for

# The invoice states each action applies to, as Stripe allows them.
ALLOWED_STATES = {
    ActionKind.retry: {"open"},
    ActionKind.void: {"open", "uncollectible"},
    ActionKind.mark_uncollectible: {"open"},
    ActionKind.send: {"open"},
    ActionKind.credit_note: {"open", "paid"},
    ActionKind.paid_out_of_band: {"open", "uncollectible"},
}
# Actions that give money up: above the threshold a second admin approves (four eyes).
NEEDS_APPROVAL = {ActionKind.void, ActionKind.mark_uncollectible, ActionKind.credit_note, ActionKind.paid_out_of_band}
CREDIT_REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")
BULK_KINDS = (ActionKind.retry, ActionKind.send)


class InvoiceActionError(Exception):
    """An action the portal refuses before asking Stripe; the message is for people."""


def allowed(invoice: Invoice, kind: str) -> bool:
    data = invoice.stripe_data
    if data.get("status") not in ALLOWED_STATES[kind]:
        return False
    if kind == ActionKind.send:
        return data.get("collection_method") == "send_invoice"
    if kind == ActionKind.retry:
        return (data.get("amount_remaining") or 0) > 0
    return True


def _credited(invoice_id: str) -> int:
    return sum(CreditNote.objects.filter(invoice_id=invoice_id, status="issued").values_list("total", flat=True))


def credit_note_params(invoice: Invoice, form: dict) -> tuple[dict, int]:
    """Stripe's credit note parameters from the form, and the total they credit."""
    data = invoice.stripe_data
    reason = form.get("credit_reason") or ""
    if reason and reason not in CREDIT_REASONS:
        raise InvoiceActionError("Choose one of Stripe's credit note reasons.")
    lines_by_id = {line["id"]: line for line in (data.get("lines") or {}).get("data", [])}
    params: dict = {"invoice": invoice.id}
    total = 0
    chosen = [(line_id, qty) for line_id, qty in (form.get("lines") or {}).items() if qty]
    if chosen:
        params["lines"] = []
        for line_id, quantity in chosen:
            line = lines_by_id.get(line_id)
            if line is None:
                raise InvoiceActionError("That line is not on this invoice.")
            most = line.get("quantity") or 1
            if not 1 <= quantity <= most:
                raise InvoiceActionError(f"Credit between 1 and {most} of “{line.get('description') or line_id}”.")
            params["lines"].append({"type": "invoice_line_item", "invoice_line_item": line_id, "quantity": quantity})
            total += line["amount"] * quantity // most
    else:
        creditable = (
            data.get("amount_remaining", 0)
            if data.get("status") == "open"
            else data.get("amount_paid", 0) - _credited(invoice.id)
        )
        total = creditable
        params["amount"] = total
    if total <= 0:
        raise InvoiceActionError("Nothing is left to credit on this invoice.")
    if data.get("status") == "paid":
        method = form.get("settle") or "refund"
        field = {"refund": "refund_amount", "credit": "credit_amount", "out_of_band": "out_of_band_amount"}.get(method)
        if field is None:
            raise InvoiceActionError("Choose how the credit reaches the customer.")
        params[field] = total
    if reason:
        params["reason"] = reason
    if form.get("memo"):
        params["memo"] = str(form["memo"])[:500]
    return params, total


def needs_approval(kind: str, amount: int, currency: str, book: RateBook | None = None) -> bool:
    if kind not in NEEDS_APPROVAL:
        return False
    book = book or RateBook()
    converted = book.convert(amount, currency, timezone.now().date())
    # Without a rate the amount cannot be judged: a second admin looks at it.
    return converted is None or converted >= settings.PORTAL_APPROVAL_THRESHOLD


def invoice_action_request(
    *, invoice: Invoice, kind: str, actor, reason: str, request_id: uuid.UUID, form: dict | None = None
) -> InvoiceAction:
    """Ask for an action. Done at once unless it waits for a second admin. A repeated request (a
    double submit) returns the first one's action and sends nothing again."""
    existing = InvoiceAction.objects.filter(request_id=request_id).first()
    if existing is not None:
        return existing
    form = form or {}
    reason = (reason or "").strip()
    if kind not in ALLOWED_STATES:
        raise InvoiceActionError("Unknown action.")
    if not reason:
        raise InvoiceActionError("Say why: the reason is kept in the audit log.")
    status = invoice.stripe_data.get("status")
    if not allowed(invoice, kind):
        raise InvoiceActionError(
            f"{invoice.stripe_data.get('number') or invoice.id} is {status}: "
            f"“{ActionKind(kind).label.lower()}” does not apply to it."
        )
    params: dict = {}
    amount = invoice.stripe_data.get("amount_remaining") or 0
    if kind == ActionKind.retry and form.get("payment_method"):
        method = form["payment_method"]
        if not PaymentMethod.objects.filter(id=method, customer_id=invoice.customer_id).exists():
            raise InvoiceActionError("That payment method does not belong to this customer.")
        params["payment_method"] = method
    if kind == ActionKind.credit_note:
        params, amount = credit_note_params(invoice, form)
    if (
        InvoiceAction.objects.filter(invoice_id=invoice.id, status=ActionStatus.queued).exists()
        and kind == ActionKind.retry
    ):
        raise InvoiceActionError("A retry of this invoice is already on its way.")
    currency = invoice.stripe_data.get("currency") or ""
    with transaction.atomic():
        action = InvoiceAction.objects.create(
            request_id=request_id,
            invoice_id=invoice.id,
            customer_id=invoice.customer_id or "",
            kind=kind,
            reason=reason[:2000],
            params=params,
            amount=amount,
            currency=currency,
            requested_by=actor,
            status=ActionStatus.awaiting_approval if needs_approval(kind, amount, currency) else ActionStatus.queued,
        )
        audit(
            actor,
            f"invoice.{kind}.request",
            object_type="djstripe.invoice",
            object_id=invoice.id,
            organisation=_organisation(invoice),
            reason=reason,
            amount=amount,
            currency=currency,
            invoice_action=action.pk,
            awaiting_approval=action.status == ActionStatus.awaiting_approval,
        )
    if action.status == ActionStatus.queued:
        return invoice_action_execute(action_id=action.pk)
    return action


def invoice_action_decide(*, action: InvoiceAction, actor, approve: bool, note: str = "") -> InvoiceAction:
    """A second admin approves (and so runs) or rejects an action waiting for approval."""
    with transaction.atomic():
        action = InvoiceAction.objects.select_for_update().get(pk=action.pk)
        if action.status != ActionStatus.awaiting_approval:
            raise InvoiceActionError("This request was already decided.")
        if action.requested_by_id == getattr(actor, "pk", None):
            raise InvoiceActionError("Someone else must approve your own request (four eyes).")
        action.status = ActionStatus.queued if approve else ActionStatus.rejected
        action.decided_by, action.decided_at = actor, timezone.now()
        action.save(update_fields=["status", "decided_by", "decided_at"])
        audit(
            actor,
            f"invoice.{action.kind}.{'approve' if approve else 'reject'}",
            object_type="djstripe.invoice",
            object_id=action.invoice_id,
            invoice_action=action.pk,
            note=note[:1000],
        )
    return invoice_action_execute(action_id=action.pk) if approve else action


def invoice_action_execute(*, action_id: int) -> InvoiceAction:
    """Send a queued action to Stripe (once: a done or failed action is left as it is)."""
    action = InvoiceAction.objects.get(pk=action_id)
    if action.status != ActionStatus.queued:
        return action
    client = gateway()
    key = key_for(f"invoice.{action.kind}", action)
    before = Invoice.objects.filter(id=action.invoice_id).values_list("stripe_data", flat=True).first() or {}
    path = f"/v1/invoices/{action.invoice_id}"
    try:
        if action.kind == ActionKind.retry:
            invoice = client.post(f"{path}/pay", action.params, idempotency_key=key)
        elif action.kind == ActionKind.paid_out_of_band:
            invoice = client.post(f"{path}/pay", {"paid_out_of_band": "true"}, idempotency_key=key)
        elif action.kind == ActionKind.credit_note:
            note = client.post("/v1/credit_notes", action.params, idempotency_key=key)
            credit_note_store(note)
            invoice = client.get(path)
            action.result = {"credit_note": note["id"], "number": note.get("number"), "total": note.get("total")}
        else:
            endpoint = {
                ActionKind.void: "void",
                ActionKind.mark_uncollectible: "mark_uncollectible",
                ActionKind.send: "send",
            }
            invoice = client.post(f"{path}/{endpoint[action.kind]}", {}, idempotency_key=key)
    except StripeGatewayError as error:
        action.status, action.error, action.done_at = ActionStatus.failed, error.message[:2000], timezone.now()
        action.result = {"code": error.code, "decline_code": error.decline_code, "request_id": error.request_id}
        action.save(update_fields=["status", "error", "done_at", "result"])
        audit(
            action.requested_by,
            f"invoice.{action.kind}.failed",
            object_type="djstripe.invoice",
            object_id=action.invoice_id,
            invoice_action=action.pk,
            error=action.error,
            idempotency_key=key,
        )
        return action
    with transaction.atomic():
        mirror.apply_object(invoice)
        action.status, action.done_at = ActionStatus.done, timezone.now()
        action.result = {**action.result, "invoice_status": invoice.get("status")}
        action.save(update_fields=["status", "done_at", "result"])
        audit(
            action.requested_by,
            f"invoice.{action.kind}",
            object_type="djstripe.invoice",
            object_id=action.invoice_id,
            organisation=_organisation_of_customer(action.customer_id),
            reason=action.reason,
            invoice_action=action.pk,
            before={"status": before.get("status"), "amount_remaining": before.get("amount_remaining")},
            after={"status": invoice.get("status"), "amount_remaining": invoice.get("amount_remaining")},
            idempotency_key=key,
            approved_by=action.decided_by.get_username() if action.decided_by else None,
        )
    return action


def invoice_bulk(*, invoices: list[Invoice], kind: str, actor, reason: str, request_id: uuid.UUID) -> dict:
    """Retry or send many invoices: one action each, run by Celery through the rate limiter.
    Invoices the action does not apply to are listed, not sent."""
    if kind not in BULK_KINDS:
        raise InvoiceActionError("Only retries and sends can be done in bulk.")
    if not (reason or "").strip():
        raise InvoiceActionError("Say why: the reason is kept in the audit log.")
    queued, skipped = [], []
    for invoice in invoices:
        if not allowed(invoice, kind):
            skipped.append(invoice.stripe_data.get("number") or invoice.id)
            continue
        action, created = InvoiceAction.objects.get_or_create(
            request_id=uuid.uuid5(request_id, invoice.id),
            defaults={
                "invoice_id": invoice.id,
                "customer_id": invoice.customer_id or "",
                "kind": kind,
                "reason": reason.strip()[:2000],
                "amount": invoice.stripe_data.get("amount_remaining") or 0,
                "currency": invoice.stripe_data.get("currency") or "",
                "requested_by": actor,
            },
        )
        if created:
            transaction.on_commit(lambda pk=action.pk: queue.send("billing.invoices.tasks.execute_action", pk))
            queued.append(action)
    audit(
        actor,
        f"invoice.{kind}.bulk",
        object_type="djstripe.invoice",
        object_id=f"{len(queued)} invoices",
        reason=reason,
        invoices=[a.invoice_id for a in queued][:500],
        skipped=skipped[:500],
    )
    return {"queued": len(queued), "skipped": skipped}


def credit_note_store(note: dict) -> CreditNote:
    row, _ = CreditNote.objects.update_or_create(
        id=note["id"],
        defaults={
            "invoice_id": note.get("invoice") or "",
            "customer_id": note.get("customer") or "",
            "number": note.get("number") or "",
            "status": note.get("status") or "",
            "kind": note.get("type") or "",
            "total": note.get("total") or 0,
            "currency": note.get("currency") or "",
            "reason": note.get("reason") or "",
            "memo": note.get("memo") or "",
            "created": dt.datetime.fromtimestamp(note.get("created") or 0, dt.UTC),
            "stripe_data": note,
        },
    )
    return row


def _organisation(invoice: Invoice) -> Organisation | None:
    return _organisation_of_customer(invoice.customer_id)


def _organisation_of_customer(customer_id: str | None) -> Organisation | None:
    return Organisation.objects.filter(stripe_customer_id=customer_id).first() if customer_id else None
