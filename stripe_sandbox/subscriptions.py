"""Subscriptions, invoices, payments, refunds, disputes, reviews, meters and test clocks."""

from __future__ import annotations

import datetime as dt
import time

from .api import (
    Api,
    SandboxError,
    as_bool,
    as_int,
    card_error,
    check,
    make,
    need,
    new_id,
    payment_method_behaviour,
    period_end,
    readable,
    route,
    update,
)
from .billing import public, resolve_payment_method
from .core import copy_of

RETRY_DAYS = [3, 5, 7]  # Smart Retries, simplified: three more attempts after the first


def _date(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%d %b %Y")


# --- payments -------------------------------------------------------------------------------------
def _charge(
    api: Api,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    pm: dict,
    description: str | None,
    now: int,
    invoice: str | None = None,
) -> tuple[dict, dict, str]:
    """Create a PaymentIntent and its Charge. Returns (intent, charge, behaviour)."""
    behaviour = payment_method_behaviour(pm)
    ok = behaviour in ("ok", "dispute", "elevated_risk")
    pi_id, ch_id = new_id("payment_intent"), new_id("charge")
    details = {
        "type": pm["type"],
        pm["type"]: {
            k: v
            for k, v in (pm.get(pm["type"]) or {}).items()
            if k in ("brand", "last4", "exp_month", "exp_year", "country", "bank_name", "routing_number", "funding")
        },
    }
    risk = {"elevated_risk": ("elevated", 65), "highest_risk": ("highest", 95)}.get(behaviour, ("normal", 20))
    failure = None if ok else card_error(behaviour).error
    charge = make(
        "charge",
        id=ch_id,
        amount=amount,
        amount_captured=amount if ok else 0,
        amount_refunded=0,
        captured=ok,
        created=now,
        currency=currency,
        customer=customer,
        description=description,
        paid=ok,
        status="succeeded" if ok else "failed",
        payment_intent=pi_id,
        payment_method=pm["id"],
        payment_method_details=details,
        billing_details=pm.get("billing_details"),
        refunded=False,
        disputed=False,
        failure_code=failure and failure["code"],
        failure_message=failure and failure["message"],
        receipt_url=f"{api.base_url}/_sandbox/receipts/{ch_id}",
        outcome={
            "network_status": "approved_by_network" if ok else "declined_by_network",
            "reason": None if ok else failure["decline_code"],
            "risk_level": risk[0],
            "risk_score": risk[1],
            "rule": None,
            "type": "authorized" if ok else "issuer_declined",
            "seller_message": "Payment complete."
            if ok
            else "The bank did not return any further details with this decline.",
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
        },
        refunds={"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{ch_id}/refunds"},
        metadata={},
        review=None,
        balance_transaction=None,
    )
    intent = make(
        "payment_intent",
        id=pi_id,
        amount=amount,
        amount_received=amount if ok else 0,
        amount_capturable=0,
        capture_method="automatic",
        confirmation_method="automatic",
        created=now,
        currency=currency,
        customer=customer,
        description=description,
        latest_charge=ch_id,
        payment_method=pm["id"] if ok else None,
        payment_method_types=[pm["type"]],
        status="succeeded" if ok else "requires_payment_method",
        metadata={},
        last_payment_error=None if ok else {**failure, "charge": ch_id, "payment_method": public(copy_of(pm))},
    )
    api.state.add(intent)
    api.state.add(charge)
    api.emit("payment_intent.created", intent)
    if ok:
        api.emit("charge.succeeded", charge)
        api.emit("payment_intent.succeeded", intent)
        if behaviour == "dispute":
            open_dispute(api, charge)
        elif behaviour == "elevated_risk":
            open_review(api, charge)
    else:
        api.emit("charge.failed", charge)
        api.emit("payment_intent.payment_failed", intent)
    return intent, charge, behaviour


def open_dispute(api: Api, charge: dict, reason: str = "fraudulent") -> dict:
    now = int(time.time())
    dispute = make(
        "dispute",
        id=new_id("dispute"),
        amount=charge["amount"],
        currency=charge["currency"],
        charge=charge["id"],
        payment_intent=charge["payment_intent"],
        reason=reason,
        status="needs_response",
        created=now,
        is_charge_refundable=True,
        balance_transactions=[],
        evidence_details={
            "due_by": now + 7 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "enhanced_eligibility": {},
        },
        metadata={},
    )
    api.state.add(dispute)
    charge["disputed"] = True
    api.emit("charge.dispute.created", dispute)
    return dispute


def open_review(api: Api, charge: dict, reason: str = "rule") -> dict:
    review = make(
        "review",
        id=new_id("review"),
        charge=charge["id"],
        payment_intent=charge["payment_intent"],
        open=True,
        reason=reason,
        opened_reason=reason,
        closed_reason=None,
        created=int(time.time()),
        billing_zip=None,
        ip_address=None,
        ip_address_location=None,
        session=None,
    )
    api.state.add(review)
    charge["review"] = review["id"]
    charge["outcome"] = {**charge["outcome"], "type": "manual_review", "risk_level": "elevated"}
    api.emit("review.opened", review)
    return review


def _payment_method_for(api: Api, invoice: dict, explicit: str | None) -> dict | None:
    now = api.state.now(invoice["customer"])
    if explicit:
        pm = resolve_payment_method(api.state, explicit, now)
        if pm.get("customer") not in (None, invoice["customer"]):
            raise SandboxError(400, "The payment method is attached to another customer.", param="payment_method")
        pm["customer"] = invoice["customer"]
        return pm
    sub_id = _invoice_subscription(invoice)
    sub = api.state.objects.get(sub_id) if sub_id else None
    customer = api.state.objects.get(invoice["customer"])
    for candidate in (
        invoice.get("default_payment_method"),
        sub and sub.get("default_payment_method"),
        customer and customer["invoice_settings"].get("default_payment_method"),
    ):
        if candidate and candidate in api.state.objects:
            return api.state.objects[candidate]
    return None


def _invoice_subscription(invoice: dict) -> str | None:
    return ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")


def attempt_invoice_payment(
    api: Api, invoice: dict, *, payment_method: str | None = None, raise_on_decline: bool = False
) -> bool:
    """Try to collect an open invoice. Declines leave it open with attempt_count raised, as Stripe does."""
    now = api.state.now(invoice["customer"])
    if invoice["amount_remaining"] <= 0:
        _mark_paid(api, invoice, now, None)
        return True
    pm = _payment_method_for(api, invoice, payment_method)
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    if pm is None:
        _payment_failed(api, invoice, now)
        if raise_on_decline:
            raise SandboxError(
                400,
                "This customer has no attached payment source or default payment method.",
                code="payment_method_missing",
            )
        return False
    intent, charge, behaviour = _charge(
        api,
        amount=invoice["amount_remaining"],
        currency=invoice["currency"],
        customer=invoice["customer"],
        pm=pm,
        description=f"Payment for Invoice {invoice.get('number') or ''}".strip(),
        now=now,
        invoice=invoice["id"],
    )
    payment = make(
        "invoice_payment",
        id=new_id("invoice_payment"),
        amount_paid=charge["amount_captured"],
        amount_requested=invoice["amount_remaining"],
        currency=invoice["currency"],
        invoice=invoice["id"],
        is_default=True,
        payment={"type": "payment_intent", "payment_intent": intent["id"], "charge": None, "payment_record": None},
        status="paid" if charge["paid"] else "open",
        created=now,
        status_transitions={"paid_at": now if charge["paid"] else None, "canceled_at": None},
    )
    invoice["payments"]["data"].append(payment)
    if charge["paid"]:
        _mark_paid(api, invoice, now, pm)
        return True
    _payment_failed(api, invoice, now)
    if raise_on_decline:
        raise card_error(behaviour, charge=charge["id"], payment_intent=public(copy_of(intent)))
    return False


def _mark_paid(api: Api, invoice: dict, now: int, pm: dict | None) -> None:
    previous = {
        "status": invoice["status"],
        "amount_paid": invoice["amount_paid"],
        "amount_remaining": invoice["amount_remaining"],
    }
    invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0, next_payment_attempt=None)
    invoice["status_transitions"]["paid_at"] = now
    api.emit("invoice.paid", invoice, previous)
    api.emit("invoice.payment_succeeded", invoice)
    sub = api.state.objects.get(_invoice_subscription(invoice) or "")
    if sub and sub["status"] in ("incomplete", "past_due", "unpaid"):
        _set_status(api, sub, "active")


def _payment_failed(api: Api, invoice: dict, now: int) -> None:
    attempts = invoice["attempt_count"]
    automatic = invoice["collection_method"] == "charge_automatically"
    invoice["next_payment_attempt"] = (
        now + RETRY_DAYS[attempts - 1] * 86400 if automatic and attempts <= len(RETRY_DAYS) else None
    )
    api.emit("invoice.payment_failed", invoice, {"attempt_count": attempts - 1})
    sub = api.state.objects.get(_invoice_subscription(invoice) or "")
    if sub:
        if invoice["billing_reason"] == "subscription_create" and sub["status"] == "incomplete":
            return
        if sub["status"] in ("active", "trialing"):
            _set_status(api, sub, "past_due")


def _set_status(api: Api, sub: dict, status: str) -> None:
    previous = {"status": sub["status"]}
    sub["status"] = status
    api.emit("customer.subscription.updated", sub, previous)


# --- invoices -------------------------------------------------------------------------------------
def _line(
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
        footer=None,
        custom_fields=None,
        default_source=None,
        default_tax_rates=[],
        application=None,
        confirmation_secret=None,
        receipt_number=None,
        statement_descriptor=None,
        on_behalf_of=None,
    )
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
        _line(
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
    _retotal(invoice)


def _retotal(invoice: dict) -> None:
    total = sum(line["amount"] for line in invoice["lines"]["data"])
    invoice.update(subtotal=total, subtotal_excluding_tax=total, total=total, total_excluding_tax=total)
    due = max(0, total)
    invoice.update(amount_due=due, amount_remaining=due - invoice["amount_paid"])


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
    invoice.update(
        status="open",
        number=f"{customer['invoice_prefix']}-{sequence:04d}",
        effective_at=now,
        hosted_invoice_url=f"{api.base_url}/_sandbox/invoices/{invoice['id']}",
        invoice_pdf=f"{api.base_url}/_sandbox/invoices/{invoice['id']}/pdf",
        ending_balance=customer.get("balance") or 0,
    )
    invoice["status_transitions"]["finalized_at"] = now
    api.emit("invoice.finalized", invoice, {"status": "draft"})
    if invoice["amount_due"] == 0:
        _mark_paid(api, invoice, now, None)
    return invoice


INVOICE_FIELDS = {
    "customer",
    "collection_method",
    "days_until_due",
    "description",
    "metadata",
    "auto_advance",
    "subscription",
    "pending_invoice_items_behavior",
    "default_payment_method",
    "currency",
    "due_date",
    "footer",
}


@route("POST", "/v1/invoices")
def invoice_create(api: Api, params: dict) -> dict:
    check(params, INVOICE_FIELDS)
    customer = api.state.get(need(params, "customer"), "customer", param="customer")
    method = params.get("collection_method") or "charge_automatically"
    if method not in ("charge_automatically", "send_invoice"):
        raise SandboxError(
            400, "collection_method must be charge_automatically or send_invoice", param="collection_method"
        )
    if method == "send_invoice" and params.get("days_until_due") is None and params.get("due_date") is None:
        raise SandboxError(
            400,
            "Missing required param: days_until_due (or due_date) for send_invoice.",
            code="parameter_missing",
            param="days_until_due",
        )
    invoice = new_invoice(
        api,
        customer["id"],
        currency=(params.get("currency") or "usd").lower(),
        billing_reason="manual",
        collection_method=method,
        days_until_due=as_int(params.get("days_until_due"), "days_until_due"),
        description=params.get("description"),
        metadata=params.get("metadata"),
        include_pending=params.get("pending_invoice_items_behavior") == "include",
    )
    invoice["auto_advance"] = as_bool(params.get("auto_advance"), False)
    if params.get("default_payment_method"):
        invoice["default_payment_method"] = params["default_payment_method"]
    api.emit("invoice.created", invoice)
    return invoice


@route("GET", "/v1/invoices/{id}")
def invoice_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "invoice")


@route("POST", "/v1/invoices/{id}")
def invoice_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"description", "metadata", "footer", "auto_advance", "default_payment_method", "days_until_due"})
    return update(api, api.state.get(id, "invoice"), params, "invoice.updated", bools={"auto_advance"})


@route("DELETE", "/v1/invoices/{id}")
def invoice_delete(api: Api, params: dict, id: str) -> dict:
    invoice = api.state.get(id, "invoice")
    if invoice["status"] != "draft":
        raise SandboxError(400, "You can only delete draft invoices.", code="invoice_not_editable")
    api.state.remove(id)
    api.emit("invoice.deleted", {**invoice, "deleted": True})
    return {"id": id, "object": "invoice", "deleted": True}


@route("GET", "/v1/invoices")
def invoice_list(api: Api, params: dict) -> list:
    rows = api.state.all("invoice")
    if params.get("customer"):
        rows = [i for i in rows if i["customer"] == params["customer"]]
    if params.get("subscription"):
        rows = [i for i in rows if _invoice_subscription(i) == params["subscription"]]
    if params.get("status"):
        rows = [i for i in rows if i["status"] == params["status"]]
    if params.get("collection_method"):
        rows = [i for i in rows if i["collection_method"] == params["collection_method"]]
    return rows


@route("GET", "/v1/invoices/{id}/lines")
def invoice_lines(api: Api, params: dict, id: str) -> list:
    return api.state.get(id, "invoice")["lines"]["data"]


@route("POST", "/v1/invoices/{id}/finalize")
def invoice_finalize(api: Api, params: dict, id: str) -> dict:
    check(params, {"auto_advance"})
    return finalize_invoice(api, api.state.get(id, "invoice"))


@route("POST", "/v1/invoices/{id}/pay")
def invoice_pay(api: Api, params: dict, id: str) -> dict:
    check(params, {"payment_method", "paid_out_of_band", "off_session", "forgive", "source", "mandate"})
    invoice = api.state.get(id, "invoice")
    if invoice["status"] == "draft":
        finalize_invoice(api, invoice)
    if invoice["status"] == "paid":
        raise SandboxError(
            400,
            "Invoice is already paid",
            code="invoice_already_paid",
        )
    if invoice["status"] != "open":
        raise SandboxError(
            400, f"You can only pay an open invoice; this one is {invoice['status']}.", code="invoice_not_open"
        )
    if as_bool(params.get("paid_out_of_band")):
        _mark_paid(api, invoice, api.state.now(invoice["customer"]), None)
        return invoice
    attempt_invoice_payment(api, invoice, payment_method=params.get("payment_method"), raise_on_decline=True)
    return invoice


@route("POST", "/v1/invoices/{id}/void")
def invoice_void(api: Api, params: dict, id: str) -> dict:
    invoice = api.state.get(id, "invoice")
    if invoice["status"] not in ("open", "uncollectible"):
        raise SandboxError(
            400,
            f"You can only void an open or uncollectible invoice; this one is {invoice['status']}.",
            code="invoice_not_open",
        )
    previous = {"status": invoice["status"]}
    invoice.update(status="void", amount_remaining=0, next_payment_attempt=None)
    invoice["status_transitions"]["voided_at"] = api.state.now(invoice["customer"])
    api.emit("invoice.voided", invoice, previous)
    return invoice


@route("POST", "/v1/invoices/{id}/mark_uncollectible")
def invoice_mark_uncollectible(api: Api, params: dict, id: str) -> dict:
    invoice = api.state.get(id, "invoice")
    if invoice["status"] != "open":
        raise SandboxError(
            400,
            f"You can only mark an open invoice uncollectible; this one is {invoice['status']}.",
            code="invoice_not_open",
        )
    invoice.update(status="uncollectible", next_payment_attempt=None)
    invoice["status_transitions"]["marked_uncollectible_at"] = api.state.now(invoice["customer"])
    api.emit("invoice.marked_uncollectible", invoice, {"status": "open"})
    return invoice


@route("POST", "/v1/invoices/{id}/send")
def invoice_send(api: Api, params: dict, id: str) -> dict:
    invoice = api.state.get(id, "invoice")
    if invoice["status"] != "open" or invoice["collection_method"] != "send_invoice":
        raise SandboxError(
            400, "You can only send open invoices with collection_method send_invoice.", code="invoice_not_open"
        )
    api.emit("invoice.sent", invoice)
    return invoice


@route("POST", "/v1/invoiceitems")
def invoice_item_create(api: Api, params: dict) -> dict:
    check(
        params,
        {
            "customer",
            "amount",
            "currency",
            "description",
            "invoice",
            "subscription",
            "price",
            "quantity",
            "period",
            "metadata",
            "pricing",
            "unit_amount_decimal",
            "discountable",
            "tax_rates",
        },
    )
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


@route("GET", "/v1/invoiceitems/{id}")
def invoice_item_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "invoiceitem")


@route("DELETE", "/v1/invoiceitems/{id}")
def invoice_item_delete(api: Api, params: dict, id: str) -> dict:
    ii = api.state.get(id, "invoiceitem")
    if ii["invoice"] and api.state.objects[ii["invoice"]]["status"] != "draft":
        raise SandboxError(400, "This invoice item is on a finalized invoice.", code="invoice_not_editable")
    api.state.remove(id)
    api.emit("invoiceitem.deleted", {**ii, "deleted": True})
    return {"id": id, "object": "invoiceitem", "deleted": True}


@route("GET", "/v1/invoiceitems")
def invoice_item_list(api: Api, params: dict) -> list:
    rows = api.state.all("invoiceitem")
    for key in ("customer", "invoice"):
        if params.get(key):
            rows = [i for i in rows if i[key] == params[key]]
    if "pending" in params:
        rows = [i for i in rows if (i["invoice"] is None) == as_bool(params["pending"])]
    return rows


# --- subscriptions ----------------------------------------------------------------------------
def _item(api: Api, sub_id: str, spec: dict, start: int, end: int) -> dict:
    price = api.state.get(need(spec, "price"), "price", param="items[0][price]")
    if not price.get("recurring"):
        raise SandboxError(
            400,
            f"The price {price['id']} is a one-time price; subscriptions need recurring prices.",
            param="items[0][price]",
        )
    quantity = as_int(spec.get("quantity"), "items[0][quantity]", 1)
    if quantity < 0:
        raise SandboxError(400, "Quantity must be zero or more.", param="items[0][quantity]")
    if price["recurring"]["usage_type"] == "metered":
        quantity = None
    return make(
        "subscription_item",
        id=new_id("subscription_item"),
        created=start,
        current_period_start=start,
        current_period_end=end,
        discounts=[],
        metadata=spec.get("metadata") or {},
        price=copy_of(price),
        quantity=quantity,
        subscription=sub_id,
        tax_rates=[],
        billing_thresholds=None,
        plan=None,
    )


def _usage(api: Api, customer_id: str, meter_id: str | None, start: int, end: int) -> int:
    meter = api.state.objects.get(meter_id or "")
    if not meter:
        return 0
    values = [
        int(e["payload"].get("value") or 1)
        for e in api.state.all("billing.meter_event")
        if e["event_name"] == meter["event_name"]
        and e["payload"].get("stripe_customer_id") == customer_id
        and start <= e["timestamp"] < end
    ]
    formula = meter["default_aggregation"]["formula"]
    if formula == "count":
        return len(values)
    if formula == "last":
        return values[-1] if values else 0
    return sum(values)


def _period_lines(
    api: Api, invoice: dict, sub: dict, start: int, end: int, *, usage_from: int | None = None, trial: bool = False
) -> None:
    """Lines for a subscription period; metered items bill the usage of the period before (Stripe bills in arrears)."""
    for item in sub["items"]["data"]:
        price = item["price"]
        if trial:
            name = price.get("nickname") or price["product"]
            invoice["lines"]["data"].append(
                _line(
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
        if price["recurring"]["usage_type"] == "metered":
            if usage_from is None:
                continue
            quantity = _usage(api, sub["customer"], price["recurring"].get("meter"), usage_from, start)
        else:
            quantity = item["quantity"]
        name = price.get("nickname") or price["product"]
        invoice["lines"]["data"].append(
            _line(
                invoice["id"],
                amount=(price["unit_amount"] or 0) * quantity,
                currency=price["currency"],
                description=f"{quantity} × {name} (at {price['unit_amount']} / {price['recurring']['interval']})",
                period=(start, end),
                price=price,
                quantity=quantity,
                subscription=sub["id"],
                item=item["id"],
            )
        )
    _retotal(invoice)


def _period(sub: dict) -> tuple[int, int]:
    items = sub["items"]["data"]
    return min(i["current_period_start"] for i in items), max(i["current_period_end"] for i in items)


def _invoice_subscription_now(
    api: Api,
    sub: dict,
    reason: str,
    start: int,
    end: int,
    *,
    usage_from: int | None,
    raise_on_decline: bool = False,
    trial: bool = False,
) -> dict:
    invoice = new_invoice(
        api,
        sub["customer"],
        currency=sub["currency"],
        billing_reason=reason,
        subscription=sub,
        collection_method=sub["collection_method"],
        days_until_due=sub.get("days_until_due"),
        period=(start, end),
    )
    _period_lines(api, invoice, sub, start, end, usage_from=usage_from, trial=trial)
    invoice["default_payment_method"] = sub.get("default_payment_method")
    api.emit("invoice.created", invoice)
    finalize_invoice(api, invoice)
    sub["latest_invoice"] = invoice["id"]
    if invoice["status"] == "open" and sub["collection_method"] == "charge_automatically":
        attempt_invoice_payment(api, invoice, raise_on_decline=raise_on_decline)
    elif invoice["status"] == "open":
        api.emit("invoice.sent", invoice)
    return invoice


SUB_FIELDS = {
    "customer",
    "items",
    "default_payment_method",
    "collection_method",
    "days_until_due",
    "trial_period_days",
    "trial_end",
    "proration_behavior",
    "payment_behavior",
    "metadata",
    "cancel_at_period_end",
    "description",
    "currency",
    "off_session",
    "payment_settings",
    "billing_cycle_anchor",
    "default_tax_rates",
    "automatic_tax",
    "trial_from_plan",
}


@route("POST", "/v1/subscriptions")
def subscription_create(api: Api, params: dict) -> dict:
    check(params, SUB_FIELDS)
    customer = api.state.get(need(params, "customer"), "customer", param="customer")
    items = params.get("items") or []
    if not items:
        raise SandboxError(400, "Missing required param: items.", code="parameter_missing", param="items")
    now = api.state.now(customer["id"])
    sub_id = new_id("subscription")
    trial_end = None
    if params.get("trial_period_days") not in (None, ""):
        trial_end = now + as_int(params["trial_period_days"], "trial_period_days") * 86400
    elif params.get("trial_end") not in (None, "", "now"):
        trial_end = as_int(params["trial_end"], "trial_end")
        if trial_end <= now:
            raise SandboxError(400, "trial_end must be in the future.", param="trial_end")
    prices = [api.state.get(need(i, "price"), "price", param="items[0][price]") for i in items]
    if len({p["currency"] for p in prices}) > 1:
        raise SandboxError(400, "All prices on a subscription must have the same currency.", param="items")
    if len({(p["recurring"] or {}).get("interval") for p in prices}) > 1:
        raise SandboxError(400, "All prices on a subscription must have the same recurring interval.", param="items")
    end = trial_end or period_end(now, prices[0]["recurring"] or {"interval": "month"})
    sub_items = [_item(api, sub_id, spec, now, end) for spec in items]
    method = params.get("collection_method") or "charge_automatically"
    default_pm = params.get("default_payment_method")
    if default_pm:
        pm = resolve_payment_method(api.state, default_pm, now)
        if pm.get("customer") not in (None, customer["id"]):
            raise SandboxError(
                400, "The payment method is attached to another customer.", param="default_payment_method"
            )
        pm["customer"] = customer["id"]
        default_pm = pm["id"]
    sub = make(
        "subscription",
        id=sub_id,
        billing_cycle_anchor=now,
        cancel_at=None,
        cancel_at_period_end=as_bool(params.get("cancel_at_period_end")),
        canceled_at=None,
        collection_method=method,
        created=now,
        currency=prices[0]["currency"],
        customer=customer["id"],
        days_until_due=as_int(params.get("days_until_due"), "days_until_due", 30 if method == "send_invoice" else None),
        default_payment_method=default_pm,
        description=params.get("description"),
        discounts=[],
        ended_at=None,
        items={
            "object": "list",
            "data": sub_items,
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        latest_invoice=None,
        metadata=params.get("metadata") or {},
        start_date=now,
        status="trialing" if trial_end else "incomplete",
        test_clock=customer.get("test_clock"),
        trial_end=trial_end,
        trial_start=now if trial_end else None,
        invoice_settings={"account_tax_ids": None, "issuer": {"type": "self"}},
        payment_settings={
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        automatic_tax={"enabled": False, "disabled_reason": None, "liability": None},
        billing_mode={"type": "classic", "flexible": None, "updated_at": None},
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        trial_settings={"end_behavior": {"missing_payment_method": "create_invoice"}},
    )
    api.state.add(sub)
    api.emit("customer.subscription.created", sub)
    behaviour = params.get("payment_behavior") or "allow_incomplete"
    if trial_end:
        _invoice_subscription_now(api, sub, "subscription_create", now, trial_end, usage_from=None, trial=True)
        return sub
    invoice = _invoice_subscription_now(api, sub, "subscription_create", now, end, usage_from=None)
    if invoice["status"] == "paid" or method == "send_invoice":
        _set_status(api, sub, "active")
    elif behaviour == "error_if_incomplete":
        sub["status"] = "incomplete_expired"
        behaviour_error = (
            invoice["payments"]["data"]
            and api.state.objects[invoice["payments"]["data"][-1]["payment"]["payment_intent"]]
        )
        raise SandboxError(
            402,
            "Your card was declined.",
            type="card_error",
            code="card_declined",
            decline_code="generic_decline",
            payment_intent=public(copy_of(behaviour_error or {})),
        )
    return sub


@route("GET", "/v1/subscriptions/{id}")
def subscription_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "subscription")


@route("GET", "/v1/subscriptions")
def subscription_list(api: Api, params: dict) -> list:
    rows = api.state.all("subscription")
    status = params.get("status")
    if status and status != "all":
        rows = [s for s in rows if s["status"] == status]
    elif not status:
        rows = [s for s in rows if s["status"] not in ("canceled", "incomplete_expired")]
    for key in ("customer", "test_clock", "collection_method"):
        if params.get(key):
            rows = [s for s in rows if s.get(key) == params[key]]
    if params.get("price"):
        rows = [s for s in rows if any(i["price"]["id"] == params["price"] for i in s["items"]["data"])]
    return rows


@route("GET", "/v1/subscription_items")
def subscription_item_list(api: Api, params: dict) -> list:
    return api.state.get(need(params, "subscription"), "subscription", param="subscription")["items"]["data"]


@route("GET", "/v1/subscription_items/{id}")
def subscription_item_get(api: Api, params: dict, id: str) -> dict:
    for sub in api.state.all("subscription"):
        for item in sub["items"]["data"]:
            if item["id"] == id:
                return item
    raise SandboxError(404, f"No such subscription item: '{id}'", code="resource_missing", param="id")


def _changed_items(api: Api, sub: dict, specs: list[dict], now: int) -> list[dict]:
    """The subscription's items after applying `items[]` changes (ids keep, price/quantity change, deleted go)."""
    current = {item["id"]: copy_of(item) for item in sub["items"]["data"]}
    start, end = _period(sub)
    result = dict(current)
    for spec in specs:
        if spec.get("id"):
            if spec["id"] not in current:
                raise SandboxError(
                    400, f"Subscription item {spec['id']} does not belong to {sub['id']}.", param="items"
                )
            if as_bool(spec.get("deleted")):
                result.pop(spec["id"])
                continue
            item = result[spec["id"]]
            if spec.get("price"):
                item["price"] = copy_of(api.state.get(spec["price"], "price", param="items[0][price]"))
            if spec.get("quantity") not in (None, ""):
                item["quantity"] = as_int(spec["quantity"], "items[0][quantity]")
            if spec.get("metadata") is not None:
                item["metadata"] = spec["metadata"]
        else:
            new = _item(api, sub["id"], spec, start, end)
            result[new["id"]] = new
    if not result:
        raise SandboxError(400, "A subscription needs at least one item; cancel it instead.", param="items")
    return list(result.values())


def _amount(item: dict) -> int:
    if item["price"]["recurring"]["usage_type"] == "metered":
        return 0
    return (item["price"]["unit_amount"] or 0) * (item["quantity"] or 0)


def prorations(sub: dict, new_items: list[dict], at: int) -> tuple[list[dict], bool]:
    """Proration lines for moving from the current items to `new_items` at `at`; and whether the interval changes."""
    start, end = _period(sub)
    old_interval = sub["items"]["data"][0]["price"]["recurring"]["interval"]
    new_interval = new_items[0]["price"]["recurring"]["interval"]
    interval_change = old_interval != new_interval
    fraction = max(0.0, min(1.0, (end - at) / max(1, end - start)))
    old = {i["id"]: i for i in sub["items"]["data"]}
    new = {i["id"]: i for i in new_items}
    lines = []
    for item_id, item in old.items():
        changed = (
            item_id not in new
            or new[item_id]["price"]["id"] != item["price"]["id"]
            or new[item_id]["quantity"] != item["quantity"]
            or interval_change
        )
        if changed and _amount(item):
            lines.append(
                {
                    "amount": -round(_amount(item) * fraction),
                    "item": item,
                    "credit": True,
                    "description": f"Unused time on {item['quantity']} × {item['price'].get('nickname') or item['price']['product']} after {_date(at)}",
                }
            )
    if not interval_change:
        for item_id, item in new.items():
            changed = (
                item_id not in old
                or old[item_id]["price"]["id"] != item["price"]["id"]
                or old[item_id]["quantity"] != item["quantity"]
            )
            if changed and _amount(item):
                lines.append(
                    {
                        "amount": round(_amount(item) * fraction),
                        "item": item,
                        "credit": False,
                        "description": f"Remaining time on {item['quantity']} × {item['price'].get('nickname') or item['price']['product']} after {_date(at)}",
                    }
                )
    return lines, interval_change


@route("POST", "/v1/subscriptions/{id}")
def subscription_update(api: Api, params: dict, id: str) -> dict:
    check(
        params,
        SUB_FIELDS - {"customer", "currency", "trial_period_days"}
        | {"proration_date", "cancel_at", "pause_collection"},
    )
    sub = api.state.get(id, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise SandboxError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata.",
            code="subscription_canceled",
        )
    now = api.state.now(sub["customer"])
    at = as_int(params.get("proration_date"), "proration_date", now)
    behaviour = params.get("proration_behavior") or "create_prorations"
    if behaviour not in ("create_prorations", "none", "always_invoice"):
        raise SandboxError(
            400, "proration_behavior must be create_prorations, none or always_invoice", param="proration_behavior"
        )
    previous: dict = {}
    simple = {
        k: params[k]
        for k in ("metadata", "description", "days_until_due", "collection_method", "cancel_at")
        if k in params
    }
    if "cancel_at_period_end" in params:
        simple["cancel_at_period_end"] = as_bool(params["cancel_at_period_end"])
        if simple["cancel_at_period_end"]:
            sub["cancellation_details"] = {"comment": None, "feedback": None, "reason": "cancellation_requested"}
            sub["canceled_at"] = now
        else:
            sub["canceled_at"] = None
    if "default_payment_method" in params:
        value = params["default_payment_method"]
        if value:
            pm = resolve_payment_method(api.state, value, now)
            if pm.get("customer") not in (None, sub["customer"]):
                raise SandboxError(
                    400, "The payment method is attached to another customer.", param="default_payment_method"
                )
            pm["customer"] = sub["customer"]
            value = pm["id"]
        simple["default_payment_method"] = value or None
    for key, value in simple.items():
        if key == "days_until_due":
            value = as_int(value, key)
        if sub.get(key) != value:
            previous[key] = copy_of(sub.get(key))
            sub[key] = value
    if params.get("trial_end") == "now" and sub["status"] == "trialing":
        previous["trial_end"] = sub["trial_end"]
        sub["trial_end"] = now
        _end_trial(api, sub, now)
    if params.get("items"):
        new_items = _changed_items(api, sub, params["items"], now)
        lines, interval_change = prorations(sub, new_items, at)
        previous["items"] = copy_of(sub["items"])
        if interval_change or params.get("billing_cycle_anchor") == "now":
            new_end = period_end(now, new_items[0]["price"]["recurring"])
            for item in new_items:
                item["current_period_start"], item["current_period_end"] = now, new_end
            sub["billing_cycle_anchor"] = now
        sub["items"]["data"] = new_items
        if behaviour != "none":
            for line in lines:
                ii = invoice_item_create(
                    api,
                    {
                        "customer": sub["customer"],
                        "amount": line["amount"],
                        "currency": sub["currency"],
                        "description": line["description"],
                        "subscription": sub["id"],
                        "period": {"start": at, "end": _period(sub)[1]},
                    },
                )
                ii["proration"] = True
        if interval_change or params.get("billing_cycle_anchor") == "now":
            start, end = _period(sub)
            api.emit("customer.subscription.updated", sub, previous)
            previous = {}
            _invoice_subscription_now(api, sub, "subscription_update", start, end, usage_from=None)
        elif behaviour == "always_invoice" and lines:
            invoice = new_invoice(
                api,
                sub["customer"],
                currency=sub["currency"],
                billing_reason="subscription_update",
                subscription=sub,
                collection_method=sub["collection_method"],
                days_until_due=sub.get("days_until_due"),
            )
            api.emit("invoice.created", invoice)
            finalize_invoice(api, invoice)
            sub["latest_invoice"] = invoice["id"]
            if invoice["status"] == "open" and sub["collection_method"] == "charge_automatically":
                attempt_invoice_payment(api, invoice)
    if previous:
        api.emit("customer.subscription.updated", sub, previous)
    return sub


def _end_trial(api: Api, sub: dict, at: int) -> None:
    end = period_end(at, sub["items"]["data"][0]["price"]["recurring"])
    for item in sub["items"]["data"]:
        item["current_period_start"], item["current_period_end"] = at, end
    previous = {"status": "trialing"}
    sub["status"] = "active"
    sub["billing_cycle_anchor"] = at
    api.emit("customer.subscription.updated", sub, previous)
    _invoice_subscription_now(api, sub, "subscription_cycle", at, end, usage_from=None)


@route("DELETE", "/v1/subscriptions/{id}")
def subscription_cancel(api: Api, params: dict, id: str) -> dict:
    check(params, {"invoice_now", "prorate", "cancellation_details"})
    sub = api.state.get(id, "subscription")
    if sub["status"] == "canceled":
        raise SandboxError(400, "This subscription is already canceled.", code="resource_missing")
    now = api.state.now(sub["customer"])
    previous = {"status": sub["status"]}
    sub.update(
        status="canceled",
        canceled_at=sub.get("canceled_at") or now,
        ended_at=now,
        cancellation_details={
            "comment": (params.get("cancellation_details") or {}).get("comment"),
            "feedback": (params.get("cancellation_details") or {}).get("feedback"),
            "reason": "cancellation_requested",
        },
    )
    api.emit("customer.subscription.deleted", sub, previous)
    return sub


@route("POST", "/v1/subscriptions/{id}/resume")
def subscription_resume(api: Api, params: dict, id: str) -> dict:
    check(params, {"billing_cycle_anchor", "proration_behavior", "proration_date"})
    sub = api.state.get(id, "subscription")
    if sub["status"] != "paused":
        raise SandboxError(
            400,
            "Only paused subscriptions can be resumed; to undo a cancellation at period end, "
            "update cancel_at_period_end to false.",
            code="invalid_subscription_status",
        )
    _set_status(api, sub, "active")
    return sub


def advance_subscription(api: Api, sub: dict, to: int) -> None:
    """Move one subscription forward to `to`: end trials, renew periods, invoice and collect, retry."""
    for _ in range(240):  # at most twenty years of months per advance
        if sub["status"] in ("canceled", "incomplete_expired", "incomplete"):
            return
        start, end = _period(sub)
        if sub["status"] == "trialing":
            trial_end = sub["trial_end"]
            if trial_end - 3 * 86400 <= to and not sub.get("_trial_warned"):
                sub["_trial_warned"] = True
                api.emit("customer.subscription.trial_will_end", sub)
            if trial_end > to:
                return
            _end_trial(api, sub, trial_end)
            continue
        if end > to:
            return
        if sub["cancel_at_period_end"]:
            previous = {"status": sub["status"]}
            sub.update(status="canceled", ended_at=end)
            api.emit("customer.subscription.deleted", sub, previous)
            return
        new_end = period_end(end, sub["items"]["data"][0]["price"]["recurring"])
        previous = {"items": copy_of(sub["items"])}
        for item in sub["items"]["data"]:
            item["current_period_start"], item["current_period_end"] = end, new_end
        api.emit("customer.subscription.updated", sub, previous)
        clock = api.state.objects.get(sub.get("test_clock") or "")
        if clock:
            clock["frozen_time"] = end  # the renewal happens at the period boundary
        _invoice_subscription_now(api, sub, "subscription_cycle", end, new_end, usage_from=start)


def retry_invoices(api: Api, customer_id: str, to: int) -> None:
    for invoice in api.state.all("invoice"):
        if (
            invoice["customer"] == customer_id
            and invoice["status"] == "open"
            and invoice["next_payment_attempt"]
            and invoice["next_payment_attempt"] <= to
        ):
            clock = api.state.objects.get(api.state.objects[customer_id].get("test_clock") or "")
            if clock:
                clock["frozen_time"] = invoice["next_payment_attempt"]
            attempt_invoice_payment(api, invoice)


# --- test clocks ------------------------------------------------------------------------------
@route("POST", "/v1/test_helpers/test_clocks")
def clock_create(api: Api, params: dict) -> dict:
    check(params, {"frozen_time", "name"})
    frozen = as_int(need(params, "frozen_time"), "frozen_time")
    clock = make(
        "test_helpers.test_clock",
        id=new_id("test_helpers.test_clock"),
        created=int(time.time()),
        deletes_after=int(time.time()) + 30 * 86400,
        frozen_time=frozen,
        name=params.get("name"),
        status="ready",
        status_details={},
    )
    api.state.add(clock)
    api.emit("test_helpers.test_clock.created", clock)
    return clock


@route("GET", "/v1/test_helpers/test_clocks/{id}")
def clock_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "test_helpers.test_clock")


@route("GET", "/v1/test_helpers/test_clocks")
def clock_list(api: Api, params: dict) -> list:
    return api.state.all("test_helpers.test_clock")


@route("DELETE", "/v1/test_helpers/test_clocks/{id}")
def clock_delete(api: Api, params: dict, id: str) -> dict:
    clock = api.state.get(id, "test_helpers.test_clock")
    api.state.remove(id)
    api.emit("test_helpers.test_clock.deleted", {**clock, "deleted": True})
    return {"id": id, "object": "test_helpers.test_clock", "deleted": True}


@route("POST", "/v1/test_helpers/test_clocks/{id}/advance")
def clock_advance(api: Api, params: dict, id: str) -> dict:
    check(params, {"frozen_time"})
    clock = api.state.get(id, "test_helpers.test_clock")
    to = as_int(need(params, "frozen_time"), "frozen_time")
    if to <= clock["frozen_time"]:
        raise SandboxError(
            400, "The frozen_time must be after the test clock's current frozen_time.", param="frozen_time"
        )
    if to > clock["frozen_time"] + 2 * 366 * 86400:
        raise SandboxError(
            400,
            "A test clock can advance at most two intervals of the longest price at once "
            "(the sandbox allows two years).",
            param="frozen_time",
        )
    clock["status"] = "advancing"
    api.emit("test_helpers.test_clock.advancing", clock)
    customers = [c["id"] for c in api.state.all("customer") if c.get("test_clock") == id and not c.get("deleted")]
    for customer_id in customers:
        for sub in api.state.all("subscription"):
            if sub["customer"] == customer_id:
                advance_subscription(api, sub, to)
        retry_invoices(api, customer_id, to)
    clock.update(frozen_time=to, status="ready")
    api.emit("test_helpers.test_clock.ready", clock)
    return clock


# --- payment intents, charges, refunds, disputes, reviews ------------------------------------------
@route("POST", "/v1/payment_intents")
def payment_intent_create(api: Api, params: dict) -> dict:
    check(
        params,
        {
            "amount",
            "currency",
            "customer",
            "payment_method",
            "confirm",
            "payment_method_types",
            "description",
            "metadata",
            "off_session",
            "capture_method",
            "setup_future_usage",
            "automatic_payment_methods",
            "receipt_email",
            "statement_descriptor",
            "mandate_data",
            "error_on_requires_action",
            "return_url",
        },
    )
    amount = as_int(need(params, "amount"), "amount")
    if amount <= 0:
        raise SandboxError(400, "This value must be greater than or equal to 1.", param="amount")
    currency = str(need(params, "currency")).lower()
    customer = params.get("customer")
    if customer:
        api.state.get(customer, "customer", param="customer")
    if as_bool(params.get("confirm")) and params.get("payment_method"):
        pm = resolve_payment_method(api.state, params["payment_method"], api.state.now(customer))
        if payment_method_behaviour(pm) == "declined":
            raise card_error("declined")
        intent, charge, behaviour = _charge(
            api,
            amount=amount,
            currency=currency,
            customer=customer,
            pm=pm,
            description=params.get("description"),
            now=api.state.now(customer),
        )
        intent["metadata"] = params.get("metadata") or {}
        if not charge["paid"]:
            raise card_error(behaviour, charge=charge["id"], payment_intent=public(copy_of(intent)))
        return intent
    pi_id = new_id("payment_intent")
    intent = make(
        "payment_intent",
        id=pi_id,
        amount=amount,
        currency=currency,
        customer=customer,
        created=api.state.now(customer),
        status="requires_payment_method",
        client_secret=f"{pi_id}_secret_x",
        payment_method_types=params.get("payment_method_types") or ["card"],
        capture_method="automatic",
        confirmation_method="automatic",
        metadata=params.get("metadata") or {},
        description=params.get("description"),
    )
    api.state.add(intent)
    api.emit("payment_intent.created", intent)
    return intent


readable("payment_intent", "/v1/payment_intents", filters=("customer",))
readable("charge", "/v1/charges", filters=("customer", "payment_intent"))
readable("refund", "/v1/refunds", filters=("charge", "payment_intent"))
readable("dispute", "/v1/disputes", filters=("charge", "payment_intent"))
readable("review", "/v1/reviews")


@route("POST", "/v1/refunds")
def refund_create(api: Api, params: dict) -> dict:
    check(params, {"charge", "payment_intent", "amount", "reason", "metadata"})
    if params.get("payment_intent"):
        intent = api.state.get(params["payment_intent"], "payment_intent", param="payment_intent")
        charge = api.state.get(intent.get("latest_charge") or "", "charge", param="payment_intent")
    else:
        charge = api.state.get(need(params, "charge"), "charge", param="charge")
    if not charge["paid"]:
        raise SandboxError(
            400, f"Charge {charge['id']} has not succeeded; nothing to refund.", code="charge_not_refundable"
        )
    refundable = charge["amount_captured"] - charge["amount_refunded"]
    amount = as_int(params.get("amount"), "amount", refundable)
    if amount <= 0 or amount > refundable:
        raise SandboxError(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({refundable})",
            code="amount_too_large",
            param="amount",
        )
    if params.get("reason") not in (None, "duplicate", "fraudulent", "requested_by_customer"):
        raise SandboxError(400, "reason must be duplicate, fraudulent or requested_by_customer", param="reason")
    refund = make(
        "refund",
        id=new_id("refund"),
        amount=amount,
        charge=charge["id"],
        currency=charge["currency"],
        created=int(time.time()),
        payment_intent=charge["payment_intent"],
        reason=params.get("reason"),
        status="succeeded",
        metadata=params.get("metadata") or {},
        balance_transaction=None,
        destination_details={"type": charge["payment_method_details"]["type"]},
    )
    api.state.add(refund)
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    charge["refunds"]["data"].append(refund)
    api.emit("refund.created", refund)
    api.emit("charge.refunded", charge, previous)
    return refund


@route("POST", "/v1/disputes/{id}/close")
def dispute_close(api: Api, params: dict, id: str) -> dict:
    dispute = api.state.get(id, "dispute")
    previous = {"status": dispute["status"]}
    dispute["status"] = "lost"
    api.emit("charge.dispute.closed", dispute, previous)
    return dispute


@route("POST", "/v1/reviews/{id}/approve")
def review_approve(api: Api, params: dict, id: str) -> dict:
    review = api.state.get(id, "review")
    if not review["open"]:
        raise SandboxError(400, "This review is already closed.", code="review_closed")
    review.update(open=False, closed_reason="approved")
    api.emit("review.closed", review, {"open": True})
    return review


@route("GET", "/v1/radar/early_fraud_warnings")
def efw_list(api: Api, params: dict) -> list:
    return api.state.all("radar.early_fraud_warning")


# --- billing meters ---------------------------------------------------------------------------
@route("POST", "/v1/billing/meters")
def meter_create(api: Api, params: dict) -> dict:
    check(
        params,
        {
            "display_name",
            "event_name",
            "default_aggregation",
            "customer_mapping",
            "value_settings",
            "event_time_window",
        },
    )
    event_name = str(need(params, "event_name"))
    if any(m["event_name"] == event_name for m in api.state.all("billing.meter")):
        raise SandboxError(400, f"A meter with event_name {event_name} already exists.", param="event_name")
    formula = (params.get("default_aggregation") or {}).get("formula") or "sum"
    if formula not in ("sum", "count", "last"):
        raise SandboxError(
            400, "default_aggregation[formula] must be sum, count or last", param="default_aggregation[formula]"
        )
    now = int(time.time())
    meter = make(
        "billing.meter",
        id=new_id("billing.meter"),
        created=now,
        updated=now,
        display_name=need(params, "display_name"),
        event_name=event_name,
        status="active",
        default_aggregation={"formula": formula},
        customer_mapping={"event_payload_key": "stripe_customer_id", "type": "by_id"},
        value_settings={"event_payload_key": "value"},
        event_time_window=None,
        status_transitions={"deactivated_at": None},
    )
    api.state.add(meter)
    return meter


@route("GET", "/v1/billing/meters/{id}")
def meter_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "billing.meter")


@route("GET", "/v1/billing/meters")
def meter_list(api: Api, params: dict) -> list:
    rows = api.state.all("billing.meter")
    return [m for m in rows if not params.get("status") or m["status"] == params["status"]]


@route("POST", "/v1/billing/meters/{id}/deactivate")
def meter_deactivate(api: Api, params: dict, id: str) -> dict:
    meter = api.state.get(id, "billing.meter")
    meter.update(status="inactive", status_transitions={"deactivated_at": int(time.time())})
    return meter


@route("POST", "/v1/billing/meter_events")
def meter_event_create(api: Api, params: dict) -> dict:
    check(params, {"event_name", "payload", "identifier", "timestamp"})
    name = str(need(params, "event_name"))
    meter = next((m for m in api.state.all("billing.meter") if m["event_name"] == name), None)
    if meter is None or meter["status"] != "active":
        raise SandboxError(400, f"No active meter for event_name {name}.", param="event_name")
    payload = need(params, "payload")
    customer = payload.get("stripe_customer_id")
    api.state.get(customer or "", "customer", param="payload[stripe_customer_id]")
    try:
        int(payload.get("value", 1))
    except (TypeError, ValueError):
        raise SandboxError(400, "payload[value] must be a whole number.", param="payload[value]") from None
    identifier = params.get("identifier") or new_id("billing.meter_event")
    for existing in api.state.all("billing.meter_event"):
        if existing["identifier"] == identifier:
            raise SandboxError(
                400,
                f"An event with identifier {identifier} already exists.",
                code="resource_already_exists",
                param="identifier",
            )
    event = make(
        "billing.meter_event",
        id=new_id("billing.meter_event"),
        event_name=name,
        identifier=identifier,
        payload={k: str(v) for k, v in payload.items()},
        created=int(time.time()),
        timestamp=as_int(params.get("timestamp"), "timestamp", api.state.now(customer)),
    )
    api.state.add(event)
    return event


@route("GET", "/v1/billing/meters/{id}/event_summaries")
def meter_event_summaries(api: Api, params: dict, id: str) -> list:
    meter = api.state.get(id, "billing.meter")
    customer = need(params, "customer")
    start = as_int(need(params, "start_time"), "start_time")
    end = as_int(need(params, "end_time"), "end_time")
    value = _usage(api, customer, meter["id"], start, end)
    return [
        make(
            "billing.meter_event_summary",
            id=f"mtrusg_{meter['id'][4:]}_{start}",
            aggregated_value=value,
            start_time=start,
            end_time=end,
            meter=meter["id"],
        )
    ]


@route("POST", "/v1/invoices/create_preview")
def invoice_preview(api: Api, params: dict) -> dict:
    """What a subscription change would invoice: prorations now, and the next period (a proration preview)."""
    check(params, {"customer", "subscription", "subscription_details", "preview_mode", "automatic_tax", "currency"})
    sub = api.state.get(need(params, "subscription"), "subscription", param="subscription")
    if params.get("customer") and params["customer"] != sub["customer"]:
        raise SandboxError(400, "The subscription belongs to another customer.", param="customer")
    details = params.get("subscription_details") or {}
    check(
        details,
        {
            "items",
            "proration_date",
            "proration_behavior",
            "billing_cycle_anchor",
            "cancel_at_period_end",
            "trial_end",
            "default_tax_rates",
        },
    )
    now = api.state.now(sub["customer"])
    at = as_int(details.get("proration_date"), "subscription_details[proration_date]", now)
    behaviour = details.get("proration_behavior") or "create_prorations"
    new_items = (
        _changed_items(api, sub, details["items"], now) if details.get("items") else copy_of(sub["items"]["data"])
    )
    lines, interval_change = prorations(sub, new_items, at) if details.get("items") else ([], False)
    preview_sub = {**sub, "items": {**sub["items"], "data": new_items}}
    invoice = new_invoice(
        api,
        sub["customer"],
        currency=sub["currency"],
        billing_reason="upcoming",
        subscription=sub,
        collection_method=sub["collection_method"],
        days_until_due=sub.get("days_until_due"),
        store=False,
    )
    start, end = _period(sub)
    if behaviour != "none":
        for line in lines:
            invoice["lines"]["data"].append(
                _line(
                    invoice["id"],
                    amount=line["amount"],
                    currency=sub["currency"],
                    description=line["description"],
                    period=(at, end),
                    price=line["item"]["price"],
                    quantity=line["item"]["quantity"],
                    subscription=sub["id"],
                    item=line["item"]["id"],
                    proration=True,
                )
            )
    if interval_change or details.get("billing_cycle_anchor") == "now":
        new_end = period_end(now, new_items[0]["price"]["recurring"])
        _period_lines(api, invoice, preview_sub, now, new_end)
        invoice.update(period_start=now, period_end=new_end, billing_reason="subscription_update")
    elif behaviour == "always_invoice":
        invoice["billing_reason"] = "subscription_update"
    else:
        next_end = period_end(end, new_items[0]["price"]["recurring"])
        _period_lines(api, invoice, preview_sub, end, next_end, usage_from=start)
        invoice.update(period_start=end, period_end=next_end, billing_reason="subscription_cycle", created=end)
    _retotal(invoice)
    invoice["subtotal"] = invoice["total"]
    return invoice


__all__ = ["open_dispute", "open_review", "prorations", "invoice_preview"]
