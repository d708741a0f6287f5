"""The finance team's side of the demo, once the mirror holds the demo company: FX rates, the
revenue ledger rebuilt with each change at its real date, and invoices finance has worked on."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone
from djstripe.models import Invoice

from billing.currencies.services import fx_rate_set
from billing.invoices import services as invoices
from billing.invoices.models import InvoiceAction
from billing.reports import rebuild

# Monthly reference rates into USD (demo values in the spirit of the ECB's; not market data).
RATES = {
    "eur": ("1.0550", "1.0820", "1.1640"),
    "gbp": ("1.2550", "1.2930", "1.3320"),
    "jpy": ("0.00652", "0.00668", "0.00681"),
    "krw": ("0.000712", "0.000735", "0.000721"),
    "kwd": ("3.2400", "3.2550", "3.2610"),
    "aud": ("0.6420", "0.6530", "0.6610"),
    "brl": ("0.1710", "0.1790", "0.1840"),
    "inr": ("0.01185", "0.01172", "0.01160"),
}


def fx_rates(actor) -> int:
    """A rate per currency at the start of each of the last three quarters, and today."""
    today = timezone.now().date()
    days = [today - dt.timedelta(days=days) for days in (365, 180, 0)]
    count = 0
    for currency, values in RATES.items():
        for day, rate in zip(days, values, strict=True):
            fx_rate_set(
                currency=currency, quote="usd", rate=Decimal(rate), day=day, source="Demo reference rates", actor=actor
            )
            count += 1
    return count


def worked_invoices(admin, analyst) -> list[str]:
    """A few invoices finance has acted on: a credit note, a write-off waiting for a second admin,
    a reminder sent to an enterprise customer."""
    done = []
    open_invoices = list(Invoice.mirror.open().order_by("created")[:40])
    net30 = [i for i in open_invoices if i.stripe_data.get("collection_method") == "send_invoice"]
    failing = [i for i in open_invoices if i.stripe_data.get("attempt_count")]
    paid = [
        (invoice, line)
        for invoice in Invoice.mirror.paid().order_by("-created")[:20]
        for line in ((invoice.stripe_data.get("lines") or {}).get("data") or [])[:1]
        if line.get("id") and (line.get("amount") or 0) > 0 and (line.get("quantity") or 0) > 1
    ]
    if InvoiceAction.objects.exists():
        return done  # already done on an earlier run
    if net30:
        invoices.invoice_action_request(
            invoice=net30[0],
            kind="send",
            actor=analyst if analyst else admin,
            reason="Reminder: due soon",
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"demo-send-{net30[0].id}"),
        )
        done.append(f"sent {net30[0].stripe_data.get('number')}")
    if paid:  # a seat line to credit one seat of (a metered or $0 line has nothing to credit)
        invoice, line = paid[0]
        invoices.invoice_action_request(
            invoice=invoice,
            kind="credit_note",
            actor=admin,
            reason="One seat was added by mistake",
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"demo-cn-{invoice.id}"),
            form={
                "lines": {line["id"]: 1},
                "credit_reason": "order_change",
                "settle": "credit",
                "memo": "Credit for a seat added by mistake",
            },
        )
        done.append(f"credited {invoice.stripe_data.get('number')}")
    if failing:
        invoices.invoice_action_request(
            invoice=failing[-1],
            kind="mark_uncollectible",
            actor=admin,
            reason="Customer in administration; collections agency informed",
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"demo-wo-{failing[-1].id}"),
        )
        done.append(f"write-off of {failing[-1].stripe_data.get('number')} waiting for approval")
    return done


def finish(out: Callable[[str], None]) -> None:
    User = get_user_model()
    admin = User.objects.filter(username="finance-admin").first()
    analyst = User.objects.filter(username="finance-analyst").first()
    out(f"FX: {fx_rates(admin)} rates")
    out(
        f"revenue ledger rebuilt with the year's dates: {rebuild.rebuild_mrr()} MRR movements, "
        f"{rebuild.rebuild_payments()} payments"
    )
    for line in worked_invoices(admin, analyst):
        out(f"finance: {line}")
