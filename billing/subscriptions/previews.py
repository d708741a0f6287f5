"""Proration previews from Stripe (`POST /v1/invoices/create_preview`): what a change charges now,
what it credits, and the next regular invoice — tax as Stripe computes it, nothing recomputed here.

A change that takes effect now is previewed twice: with `proration_behavior=always_invoice` (the
invoice Stripe will issue at once, at the same `proration_date` the change is then sent with, so
the charge equals the preview) and with `none` (the next regular invoice with the new plan). A
change at the renewal is previewed once, with `none`.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from djstripe.models import Customer, TaxRate

from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for


@dataclass
class Line:
    description: str
    amount: int
    proration: bool
    period_start: dt.datetime | None
    period_end: dt.datetime | None


@dataclass
class Tax:
    label: str
    amount: int


@dataclass
class InvoicePreview:
    currency: str
    amount_due: int
    subtotal: int
    total: int
    lines: list[Line] = field(default_factory=list)
    taxes: list[Tax] = field(default_factory=list)
    credit_applied: int = 0  # the customer's balance used up by this invoice (minor units, ≥ 0)

    @property
    def tax(self) -> int:
        return sum(t.amount for t in self.taxes)

    @property
    def charged(self) -> int:
        return sum(line.amount for line in self.lines if line.amount > 0)

    @property
    def credited(self) -> int:
        return -sum(line.amount for line in self.lines if line.amount < 0)

    @property
    def service_end(self) -> dt.datetime | None:
        """Where the newest non-proration line's period ends: the end of the period it starts."""
        ends = [line.period_end for line in self.lines if not line.proration and line.period_end]
        return max(ends) if ends else None


def _when(ts) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC) if ts else None


def _is_proration(line: dict) -> bool:
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    return bool(details.get("proration") or line.get("proration"))


def _tax_label(rate: dict) -> str:
    """`VAT 19% (DE)`: the rate's name, its percentage as people write it, and where it applies."""
    pct = rate.get("percentage")
    pct_text = f" {Decimal(str(pct)).normalize():f}%" if pct is not None else ""
    where = rate.get("jurisdiction") or rate.get("country") or ""
    return f"{rate.get('display_name') or 'Tax'}{pct_text}{f' ({where})' if where else ''}"


def summarise(invoice: dict) -> InvoicePreview:
    """Stripe's preview invoice, as the page shows it."""
    lines = [
        Line(
            description=line.get("description") or "",
            amount=int(line.get("amount") or 0),
            proration=_is_proration(line),
            period_start=_when((line.get("period") or {}).get("start")),
            period_end=_when((line.get("period") or {}).get("end")),
        )
        for line in (invoice.get("lines") or {}).get("data", [])
    ]
    taxes: dict[str, int] = {}
    for tax in invoice.get("total_taxes") or []:
        rate = (tax.get("tax_rate_details") or {}).get("tax_rate") or ""
        taxes[rate] = taxes.get(rate, 0) + int(tax.get("amount") or 0)
    labels = {rate.id: _tax_label(rate.stripe_data) for rate in TaxRate.objects.filter(id__in=[r for r in taxes if r])}
    total, amount_due = int(invoice.get("total") or 0), int(invoice.get("amount_due") or 0)
    return InvoicePreview(
        currency=invoice.get("currency") or "",
        amount_due=amount_due,
        subtotal=int(invoice.get("subtotal") or 0),
        total=total,
        lines=lines,
        taxes=[Tax(labels.get(rate, "Tax"), amount) for rate, amount in taxes.items() if amount],
        credit_applied=max(0, total - amount_due) if (invoice.get("starting_balance") or 0) < 0 else 0,
    )


def preview_invoice(
    *,
    customer_id: str,
    subscription_id: str,
    item_id: str,
    price_id: str,
    quantity: int,
    behaviour: str,
    proration_date: int | None = None,
) -> dict:
    """One `create_preview` call. Previews change nothing at Stripe, so each has a key of its own."""
    details: dict = {
        "items": [{"id": item_id, "price": price_id, "quantity": quantity}],
        "proration_behavior": behaviour,
    }
    if proration_date:
        details["proration_date"] = proration_date
    return gateway().post(
        "/v1/invoices/create_preview",
        {"customer": customer_id, "subscription": subscription_id, "subscription_details": details},
        idempotency_key=key_for("invoice.preview", subscription_id, uuid.uuid4().hex),
    )


def customer_now(customer_id: str | None) -> int:
    """Now, as Stripe bills this customer: the frozen time of its test clock (test mode only), else
    the wall clock. A proration_date outside the customer's current period is refused by Stripe."""
    clock = (
        Customer.objects.filter(id=customer_id, livemode=False)
        .values_list("stripe_data__test_clock", flat=True)
        .first()
        if customer_id
        else None
    )
    if clock:
        return int(gateway().get(f"/v1/test_helpers/test_clocks/{clock}")["frozen_time"])
    return int(time.time())
