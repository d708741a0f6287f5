"""Reads for the finance invoice pages: a fixed number of queries per page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from djstripe.models import Charge, Invoice, PaymentMethod

from accounts.models import AuditLog, Organisation
from billing.invoices.models import ActionStatus, CreditNote, InvoiceAction
from billing.stripe import accessors


def invoice_search():
    # The list reads the customer's id and organisation, not its Stripe payload.
    return Invoice.mirror.real().select_related("customer", "customer__organisation").defer("customer__stripe_data")


def due_date(invoice: Invoice) -> dt.datetime | None:
    due = invoice.stripe_data.get("due_date")
    return dt.datetime.fromtimestamp(due, dt.UTC) if due else None


@dataclass
class InvoiceRow:
    invoice: Invoice
    data: dict
    organisation: Organisation | None
    due: dt.datetime | None

    @property
    def past_due(self) -> bool:
        if self.data.get("status") != "open":
            return False
        return bool(self.data.get("attempt_count")) or bool(self.due and self.due < dt.datetime.now(dt.UTC))


def _organisation(invoice: Invoice) -> Organisation | None:
    if invoice.customer is None:
        return None
    try:
        return invoice.customer.organisation
    except Organisation.DoesNotExist:
        return None


def invoice_rows(invoices: list[Invoice]) -> list[InvoiceRow]:
    return [InvoiceRow(i, i.stripe_data, _organisation(i), due_date(i)) for i in invoices]


def payment_methods_of(invoice: Invoice) -> list[PaymentMethod]:
    return list(PaymentMethod.mirror.real().for_customer(invoice.customer_id).order_by("-created"))


def invoice_detail(*, invoice_id: str) -> dict | None:
    invoice = Invoice.objects.filter(id=invoice_id).select_related("customer", "customer__organisation").first()
    if invoice is None:
        return None
    intents = accessors.invoice_payment_intent_ids(invoice)
    return {
        "invoice": invoice,
        "i": invoice.stripe_data,
        "organisation": _organisation(invoice),
        "due": due_date(invoice),
        "lines": (invoice.stripe_data.get("lines") or {}).get("data", []),
        "charges": list(Charge.objects.filter(payment_intent__id__in=intents).order_by("-created")) if intents else [],
        "credit_notes": list(CreditNote.objects.filter(invoice_id=invoice.id)),
        "actions": list(
            InvoiceAction.objects.filter(invoice_id=invoice.id).select_related("requested_by", "decided_by")
        ),
        "timeline": list(
            AuditLog.objects.filter(object_type="djstripe.invoice", object_id=invoice.id).select_related("actor")[:50]
        ),
        "subscription_id": accessors.invoice_subscription_id(invoice),
    }


def approvals() -> dict:
    pending = InvoiceAction.objects.filter(status=ActionStatus.awaiting_approval).select_related("requested_by")
    recent = (
        InvoiceAction.objects.filter(decided_by__isnull=False)
        .select_related("requested_by", "decided_by")
        .order_by("-decided_at")[:20]
    )
    return {"pending": list(pending), "recent": list(recent)}
