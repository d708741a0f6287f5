"""Credit notes: reduce what an open invoice asks for, or give back part of a paid one (a refund, a
credit to the customer's balance, or money returned outside Stripe)."""

from __future__ import annotations

from ..core import SandboxError, make, new_id
from ..engine.payments import create_refund
from ..engine.tax import credit_note_taxes
from ..routing import Api, as_int, check, need, readable, route

REASONS = (None, "duplicate", "fraudulent", "order_change", "product_unsatisfactory")
FIELDS = {
    "invoice",
    "lines",
    "amount",
    "reason",
    "memo",
    "metadata",
    "refund_amount",
    "credit_amount",
    "out_of_band_amount",
    "effective_at",
    "email_type",
}


def _lines(api: Api, invoice: dict, params: dict) -> list[dict]:
    """Credit note lines from `lines[]` (per invoice line or custom) or one line for `amount`."""
    by_id = {line["id"]: line for line in invoice["lines"]["data"]}
    lines = []
    specs = params.get("lines") or []
    if isinstance(specs, dict):
        specs = [specs[k] for k in sorted(specs, key=int)]
    for n, spec in enumerate(specs):
        kind = spec.get("type")
        if kind == "invoice_line_item":
            source = by_id.get(spec.get("invoice_line_item") or "")
            if source is None:
                raise SandboxError(
                    400, f"No such invoice line item on {invoice['id']}.", param=f"lines[{n}][invoice_line_item]"
                )
            if spec.get("amount") not in (None, ""):
                amount = as_int(spec["amount"], f"lines[{n}][amount]")
            else:
                quantity = as_int(spec.get("quantity"), f"lines[{n}][quantity]", source.get("quantity") or 1)
                amount = source["amount"] * quantity // max(1, source.get("quantity") or 1)
            description = source.get("description")
        elif kind == "custom_line_item":
            quantity = as_int(spec.get("quantity"), f"lines[{n}][quantity]", 1)
            amount = as_int(need(spec, "unit_amount"), f"lines[{n}][unit_amount]") * quantity
            description = need(spec, "description")
            source = None
        else:
            raise SandboxError(
                400, "lines[][type] must be invoice_line_item or custom_line_item.", param=f"lines[{n}][type]"
            )
        if amount <= 0:
            raise SandboxError(400, "A credit note line must be for a positive amount.", param=f"lines[{n}]")
        lines.append(
            make(
                "credit_note_line_item",
                id=new_id("credit_note_line_item"),
                amount=amount,
                description=description,
                invoice_line_item=source["id"] if source else None,
                quantity=as_int(spec.get("quantity"), f"lines[{n}][quantity]", 1),
                type=kind,
                tax_rates=[],
                discount_amounts=[],
            )
        )
    if not lines:
        amount = as_int(need(params, "amount"), "amount")
        if amount <= 0:
            raise SandboxError(400, "amount must be greater than 0.", param="amount")
        lines.append(
            make(
                "credit_note_line_item",
                id=new_id("credit_note_line_item"),
                amount=amount,
                description=params.get("memo") or "Credit",
                type="custom_line_item",
                quantity=1,
                unit_amount=amount,
                unit_amount_decimal=str(amount),
                tax_rates=[],
                discount_amounts=[],
            )
        )
    return lines


def _paid_charge(api: Api, invoice: dict) -> dict | None:
    for payment in reversed(invoice.get("payments", {}).get("data", [])):
        intent = api.state.objects.get((payment.get("payment") or {}).get("payment_intent") or "")
        charge = api.state.objects.get((intent or {}).get("latest_charge") or "")
        if charge and charge.get("paid"):
            return charge
    return None


@route("POST", "/v1/credit_notes")
def credit_note_create(api: Api, params: dict) -> dict:
    check(params, FIELDS)
    invoice = api.state.get(need(params, "invoice"), "invoice", param="invoice")
    if invoice["status"] not in ("open", "paid"):
        raise SandboxError(
            400,
            f"You can only credit an open or paid invoice; this one is {invoice['status']}.",
            code="invoice_not_editable",
        )
    if params.get("reason") not in REASONS:
        raise SandboxError(400, f"reason must be one of {', '.join(r for r in REASONS if r)}.", param="reason")
    lines = _lines(api, invoice, params)
    total = sum(line["amount"] for line in lines)
    credited = sum(
        cn["total"]
        for cn in api.state.all("credit_note")
        if cn["invoice"] == invoice["id"] and cn["status"] == "issued"
    )
    now = api.state.now(invoice["customer"])
    taxes, tax = credit_note_taxes(invoice, total)  # its share of the invoice's taxes (engine.tax)
    note = make(
        "credit_note",
        id=new_id("credit_note"),
        amount=total,
        subtotal=total - tax,
        subtotal_excluding_tax=total - tax,
        total=total,
        total_excluding_tax=total - tax,
        currency=invoice["currency"],
        customer=invoice["customer"],
        invoice=invoice["id"],
        created=now,
        effective_at=now,
        memo=params.get("memo"),
        reason=params.get("reason"),
        metadata=params.get("metadata") or {},
        number=f"{invoice.get('number') or invoice['id']}-CN-{len([c for c in api.state.all('credit_note') if c['invoice'] == invoice['id']]) + 1:02d}",
        status="issued",
        voided_at=None,
        refunds=[],
        customer_balance_transaction=None,
        out_of_band_amount=None,
        discount_amount=0,
        discount_amounts=[],
        total_taxes=taxes,
        lines={"object": "list", "data": lines, "has_more": False, "url": "/v1/credit_notes/lines"},
    )
    if invoice["status"] == "open":
        if credited + total > invoice["amount_due"] + invoice.get("pre_payment_credit_notes_amount", 0):
            raise SandboxError(
                400,
                "The credit note's total is greater than the amount remaining on the invoice.",
                code="credit_note_amount_too_large",
                param="amount",
            )
        note["type"] = "pre_payment"
        previous = {"amount_due": invoice["amount_due"], "amount_remaining": invoice["amount_remaining"]}
        invoice["pre_payment_credit_notes_amount"] = (invoice.get("pre_payment_credit_notes_amount") or 0) + total
        invoice["amount_due"] = max(0, invoice["amount_due"] - total)
        invoice["amount_remaining"] = max(0, invoice["amount_remaining"] - total)
        api.state.add(note)
        api.emit("credit_note.created", note)
        api.emit("invoice.updated", invoice, previous)
        return note
    refund_amount = as_int(params.get("refund_amount"), "refund_amount", 0)
    credit_amount = as_int(params.get("credit_amount"), "credit_amount", 0)
    out_of_band = as_int(params.get("out_of_band_amount"), "out_of_band_amount", 0)
    if not (refund_amount or credit_amount or out_of_band):
        refund_amount = total
    if refund_amount + credit_amount + out_of_band != total:
        raise SandboxError(
            400,
            "refund_amount, credit_amount and out_of_band_amount must add up to the credit note's total.",
            param="refund_amount",
        )
    if credited + total > invoice["amount_paid"]:
        raise SandboxError(
            400,
            "The credit note's total is greater than the amount paid on the invoice.",
            code="credit_note_amount_too_large",
            param="amount",
        )
    note["type"] = "post_payment"
    if refund_amount:
        charge = _paid_charge(api, invoice)
        if charge is None:
            raise SandboxError(
                400, "This invoice was not paid through Stripe: nothing to refund.", param="refund_amount"
            )
        refund = create_refund(api, charge, refund_amount, None, {"credit_note": note["id"]})
        note["refunds"] = [{"amount_refunded": refund_amount, "refund": refund["id"]}]
    if credit_amount:
        customer = api.state.get(invoice["customer"], "customer")
        txn = make(
            "customer_balance_transaction",
            id=new_id("customer_balance_transaction"),
            amount=-credit_amount,
            currency=invoice["currency"],
            customer=customer["id"],
            credit_note=note["id"],
            created=now,
            type="credit_note",
            ending_balance=(customer.get("balance") or 0) - credit_amount,
            invoice=None,
            description=None,
        )
        api.state.add(txn)
        previous = {"balance": customer.get("balance") or 0}
        customer["balance"] = txn["ending_balance"]
        note["customer_balance_transaction"] = txn["id"]
        api.emit("customer.updated", customer, previous)
    note["out_of_band_amount"] = out_of_band or None
    previous = {"post_payment_credit_notes_amount": invoice.get("post_payment_credit_notes_amount") or 0}
    invoice["post_payment_credit_notes_amount"] = previous["post_payment_credit_notes_amount"] + total
    api.state.add(note)
    api.emit("credit_note.created", note)
    api.emit("invoice.updated", invoice, previous)
    return note


@route("POST", "/v1/credit_notes/{id}/void")
def credit_note_void(api: Api, params: dict, id: str) -> dict:
    note = api.state.get(id, "credit_note")
    if note["status"] == "void":
        raise SandboxError(400, "This credit note is already void.", code="credit_note_already_voided")
    if note["type"] == "post_payment":
        raise SandboxError(400, "A credit note that refunded or credited a paid invoice cannot be voided.")
    invoice = api.state.get(note["invoice"], "invoice")
    if invoice["status"] != "open":
        raise SandboxError(400, "You can only void a credit note on an open invoice.")
    note.update(status="void", voided_at=api.state.now(invoice["customer"]))
    invoice["pre_payment_credit_notes_amount"] -= note["total"]
    invoice["amount_due"] += note["total"]
    invoice["amount_remaining"] += note["total"]
    api.emit("credit_note.voided", note)
    api.emit("invoice.updated", invoice)
    return note


readable("credit_note", "/v1/credit_notes", filters=("invoice", "customer"))
