"""Invoicing: invoices and their lines, pending invoice items, totals, finalizing, metered usage and
the lines of a subscription period."""

from __future__ import annotations

import secrets

from ..core import SandboxError, make, new_id
from ..routing import Api, as_int, need
from .balance import apply_balance
from .collection import mark_paid
from .tax import apply_taxes, prepare

# A finalized invoice's secret for its hosted page and PDF URLs; private (`_`), so never in API
# answers or events, but kept with the invoice in the state file.
DOCUMENT_TOKEN = "_document_token"


def invoice_line(
    invoice_id: str,
    *,
    amount: int,
    currency: str,
    description: str,
    period: tuple[int, int],
    price: dict | None,
    quantity: int | None,
    subscription: str | None,
    item: str | None = None,
    invoice_item: str | None = None,
    proration: bool = False,
) -> dict:
    parent = (
        {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": invoice_item,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
                "subscription_item": item,
            },
        }
        if item
        else {
            "type": "invoice_item_details",
            "subscription_item_details": None,
            "invoice_item_details": {
                "invoice_item": invoice_item,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
            },
        }
    )
    return make(
        "line_item",
        id=new_id("line_item"),
        amount=amount,
        currency=currency,
        description=description,
        invoice=invoice_id,
        period={"start": period[0], "end": period[1]},
        quantity=quantity,
        subscription=subscription,
        discount_amounts=[],
        discountable=True,
        discounts=[],
        metadata={},
        parent=parent,
        pretax_credit_amounts=[],
        taxes=[],
        subtotal=amount,
        pricing={
            "type": "price_details",
            "unit_amount_decimal": price and price.get("unit_amount_decimal"),
            "price_details": {"price": price["id"], "product": price["product"]} if price else None,
        },
        quantity_decimal=str(quantity) if quantity is not None else None,
    )


def new_invoice(
    api: Api,
    customer_id: str,
    *,
    currency: str,
    billing_reason: str,
    subscription: dict | None = None,
    collection_method: str = "charge_automatically",
    days_until_due: int | None = None,
    description: str | None = None,
    metadata: dict | None = None,
    period: tuple[int, int] | None = None,
    include_pending: bool = True,
    store: bool = True,
    tax_rates: list[dict] | None = None,
    automatic_tax: bool | None = None,
) -> dict:
    customer = api.state.get(customer_id, "customer", param="customer")
    now = api.state.now(customer_id)
    inv_id = new_id("invoice") if store else f"upcoming_{new_id('invoice')}"
    parent = (
        {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "metadata": subscription.get("metadata") or {},
                "subscription": subscription["id"],
            },
        }
        if subscription
        else None
    )
    invoice = make(
        "invoice",
        id=inv_id,
        account_country="US",
        account_name="Billing portal sandbox",
        amount_due=0,
        amount_paid=0,
        amount_remaining=0,
        amount_overpaid=0,
        amount_shipping=0,
        attempt_count=0,
        attempted=False,
        auto_advance=True,
        billing_reason=billing_reason,
        collection_method=collection_method,
        created=now,
        currency=currency,
        customer=customer_id,
        customer_address=customer.get("address"),
        customer_email=customer.get("email"),
        customer_name=customer.get("name"),
        customer_phone=customer.get("phone"),
        customer_tax_exempt=customer.get("tax_exempt"),
        customer_shipping=None,
        customer_tax_ids=[
            {"type": t["type"], "value": t["value"]} for t in api.state.all("tax_id") if t["customer"] == customer_id
        ],
        default_payment_method=None,
        description=description,
        discounts=[],
        due_date=None,
        effective_at=None,
        ending_balance=None,
        starting_balance=customer.get("balance") or 0,
        hosted_invoice_url=None,
        invoice_pdf=None,
        issuer={"type": "self"},
        lines={"object": "list", "data": [], "has_more": False, "url": f"/v1/invoices/{inv_id}/lines"},
        metadata=metadata or {},
        next_payment_attempt=None,
        number=None,
        parent=parent,
        payments={"object": "list", "data": [], "has_more": False, "url": f"/v1/invoice_payments?invoice={inv_id}"},
        period_start=(period or (now, now))[0],
        period_end=(period or (now, now))[1],
        status="draft",
        status_transitions={"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None, "voided_at": None},
        subtotal=0,
        subtotal_excluding_tax=0,
        total=0,
        total_excluding_tax=0,
        total_taxes=[],
        total_discount_amounts=[],
        total_pretax_credit_amounts=[],
        test_clock=customer.get("test_clock"),
        automatic_tax={"enabled": False, "liability": None, "status": None, "disabled_reason": None, "provider": None},
        webhooks_delivered_at=now,
        post_payment_credit_notes_amount=0,
        pre_payment_credit_notes_amount=0,
        rendering=None,
        shipping_cost=None,
        shipping_details=None,
        threshold_reason=None,
        last_finalization_error=None,
        latest_revision=None,
        from_invoice=None,
        footer=(customer.get("invoice_settings") or {}).get("footer"),
        custom_fields=(customer.get("invoice_settings") or {}).get("custom_fields"),
        default_source=None,
        default_tax_rates=[],
        application=None,
        confirmation_secret=None,
        receipt_number=None,
        statement_descriptor=None,
        on_behalf_of=None,
    )
    if tax_rates is None:
        tax_rates = list((subscription or {}).get("default_tax_rates") or [])
    if automatic_tax is None:
        automatic_tax = bool(((subscription or {}).get("automatic_tax") or {}).get("enabled"))
    prepare(api, invoice, customer, tax_rates=tax_rates, automatic=automatic_tax, now=now)
    if collection_method == "send_invoice":
        invoice["due_date"] = now + (days_until_due if days_until_due is not None else 30) * 86400
    if include_pending:
        for ii in api.state.all("invoiceitem"):
            if (
                ii["customer"] == customer_id
                and ii["invoice"] is None
                and ii["currency"] == currency
                and (ii.get("subscription") in (None, subscription and subscription["id"]))
            ):
                if store:
                    ii["invoice"] = inv_id
                _add_invoice_item_line(invoice, ii)
    if store:
        api.state.add(invoice)
    return invoice


def _add_invoice_item_line(invoice: dict, ii: dict) -> None:
    invoice["lines"]["data"].append(
        invoice_line(
            invoice["id"],
            amount=ii["amount"],
            currency=ii["currency"],
            description=ii.get("description") or "",
            period=(ii["period"]["start"], ii["period"]["end"]),
            price=(ii.get("pricing") or {}).get("_price"),
            quantity=ii.get("quantity"),
            subscription=ii.get("subscription"),
            invoice_item=ii["id"],
            proration=bool(ii.get("proration")),
        )
    )
    retotal(invoice)


def retotal(invoice: dict) -> None:
    """Totals from the lines, with their taxes (see engine.tax): exclusive taxes add to the total."""
    subtotal = sum(line["amount"] for line in invoice["lines"]["data"])
    exclusive, inclusive = apply_taxes(invoice)
    total = subtotal + exclusive
    invoice.update(
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal - inclusive,
        total=total,
        total_excluding_tax=subtotal - inclusive,
    )
    due = max(0, total)
    invoice.update(amount_due=due, amount_remaining=due - invoice["amount_paid"])


def document_path(invoice: dict) -> str:
    """The path of a finalized invoice's hosted page (`…/pdf` for its PDF): its id and its secret token.

    Like Stripe's `hosted_invoice_url` and `invoice_pdf`, the URL is unguessable: whoever has the
    invoice object can open it, whoever only knows the `in_…` id cannot.
    """
    return f"/_sandbox/invoices/{invoice['id']}/{invoice[DOCUMENT_TOKEN]}"


def finalize_invoice(api: Api, invoice: dict) -> dict:
    if invoice["status"] != "draft":
        raise SandboxError(
            400,
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            code="invoice_not_editable",
        )
    customer = api.state.objects[invoice["customer"]]
    now = api.state.now(invoice["customer"])
    api.state.invoice_counter += 1
    sequence = customer.get("next_invoice_sequence") or 1
    customer["next_invoice_sequence"] = sequence + 1
    if invoice["total"] < 0:  # a net credit goes to the customer's balance
        customer["balance"] = (customer.get("balance") or 0) + invoice["total"]
    else:  # the customer's balance (credits, debits) is taken into the amount due
        apply_balance(api, invoice, customer)
    invoice[DOCUMENT_TOKEN] = secrets.token_urlsafe(24)
    invoice.update(
        status="open",
        number=f"{customer['invoice_prefix']}-{sequence:04d}",
        effective_at=now,
        hosted_invoice_url=f"{api.base_url}{document_path(invoice)}",
        invoice_pdf=f"{api.base_url}{document_path(invoice)}/pdf",
    )
    invoice["ending_balance"] = customer.get("balance") or 0
    invoice["status_transitions"]["finalized_at"] = now
    api.emit("invoice.finalized", invoice, {"status": "draft"})
    if invoice["amount_due"] == 0:
        mark_paid(api, invoice, now, None)
    return invoice


def create_invoice_item(api: Api, params: dict) -> dict:
    """An invoice item from (checked) `POST /v1/invoiceitems` parameters, on a draft invoice or pending."""
    customer = api.state.get(need(params, "customer"), "customer", param="customer")
    price_id = params.get("price") or (params.get("pricing") or {}).get("price")
    price = api.state.get(price_id, "price", param="price") if price_id else None
    quantity = as_int(params.get("quantity"), "quantity", 1)
    if price:
        amount, currency = price["unit_amount"] * quantity, price["currency"]
    else:
        amount = as_int(need(params, "amount"), "amount")
        currency = str(need(params, "currency")).lower()
    invoice = None
    if params.get("invoice"):
        invoice = api.state.get(params["invoice"], "invoice", param="invoice")
        if invoice["status"] != "draft":
            raise SandboxError(400, "You can only add invoice items to draft invoices.", code="invoice_not_editable")
    now = api.state.now(customer["id"])
    period = params.get("period") or {}
    ii = make(
        "invoiceitem",
        id=new_id("invoiceitem"),
        amount=amount,
        currency=currency,
        customer=customer["id"],
        date=now,
        description=params.get("description") or (price and price.get("nickname")),
        discountable=True,
        discounts=[],
        invoice=invoice["id"] if invoice else None,
        metadata=params.get("metadata") or {},
        period={
            "start": as_int(period.get("start"), "period[start]", now),
            "end": as_int(period.get("end"), "period[end]", now),
        },
        proration=False,
        quantity=quantity,
        subscription=params.get("subscription"),
        tax_rates=[],
        pricing={
            "type": "price_details",
            "unit_amount_decimal": str(amount // max(quantity, 1)),
            "price_details": {"price": price["id"], "product": price["product"]} if price else None,
            "_price": price,
        },
        parent={
            "type": "subscription_details" if params.get("subscription") else None,
            "subscription_details": {"subscription": params.get("subscription"), "subscription_item": None}
            if params.get("subscription")
            else None,
        },
    )
    api.state.add(ii)
    if invoice:
        _add_invoice_item_line(invoice, ii)
    api.emit("invoiceitem.created", ii)
    return ii


def usage(api: Api, customer_id: str, meter_id: str | None, start: int, end: int) -> int:
    meter = api.state.objects.get(meter_id or "")
    if not meter:
        return 0
    values = [
        int(e["payload"].get("value") or 1)
        for e in api.state.all("billing.meter_event")
        if e["event_name"] == meter["event_name"]
        and e["payload"].get("stripe_customer_id") == customer_id
        and start <= e["timestamp"] < end
        and not e.get("_cancelled")
    ]
    formula = meter["default_aggregation"]["formula"]
    if formula == "count":
        return len(values)
    if formula == "last":
        return values[-1] if values else 0
    return sum(values)


def period_lines(
    api: Api, invoice: dict, sub: dict, start: int, end: int, *, usage_from: int | None = None, trial: bool = False
) -> None:
    """Lines for a subscription period; metered items bill the usage of the period before (Stripe bills in arrears)."""
    for item in sub["items"]["data"]:
        price = item["price"]
        if trial:
            name = price.get("nickname") or price["product"]
            invoice["lines"]["data"].append(
                invoice_line(
                    invoice["id"],
                    amount=0,
                    currency=price["currency"],
                    description=f"Trial period for {name}",
                    period=(start, end),
                    price=price,
                    quantity=item["quantity"],
                    subscription=sub["id"],
                    item=item["id"],
                )
            )
            continue
        line_period = (start, end)
        if price["recurring"]["usage_type"] == "metered":
            if usage_from is None:
                continue
            quantity = usage(api, sub["customer"], price["recurring"].get("meter"), usage_from, start)
            line_period = (usage_from, start)  # as Stripe: the line's period is the usage billed in arrears
        else:
            quantity = item["quantity"]
        name = price.get("nickname") or price["product"]
        invoice["lines"]["data"].append(
            invoice_line(
                invoice["id"],
                amount=(price["unit_amount"] or 0) * quantity,
                currency=price["currency"],
                description=f"{quantity} × {name} (at {price['unit_amount']} / {price['recurring']['interval']})",
                period=line_period,
                price=price,
                quantity=quantity,
                subscription=sub["id"],
                item=item["id"],
            )
        )
    retotal(invoice)
