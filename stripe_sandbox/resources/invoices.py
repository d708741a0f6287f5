"""Invoices (one-off: create, update, finalize, pay, void, mark uncollectible, send, delete drafts),
invoice items, and `POST /v1/invoices/create_preview` (proration previews)."""

from __future__ import annotations

from ..core import SandboxError, copy_of
from ..engine.collection import attempt_invoice_payment, invoice_subscription, mark_paid, next_retry
from ..engine.invoicing import (
    create_invoice_item,
    finalize_invoice,
    invoice_line,
    new_invoice,
    period_lines,
    retotal,
)
from ..engine.lifecycle import changed_items, prorations
from ..engine.periods import current_period, period_end
from ..engine.tax import prepare, tax_params
from ..routing import Api, as_bool, as_int, check, need, route, update

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
    "custom_fields",
    "default_tax_rates",
    "automatic_tax",
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
    tax_rates, automatic = tax_params(api, params)
    invoice = new_invoice(
        api,
        customer["id"],
        tax_rates=tax_rates or [],
        automatic_tax=bool(automatic),
        currency=(params.get("currency") or "usd").lower(),
        billing_reason="manual",
        collection_method=method,
        days_until_due=as_int(params.get("days_until_due"), "days_until_due"),
        description=params.get("description"),
        metadata=params.get("metadata"),
        include_pending=params.get("pending_invoice_items_behavior") == "include",
    )
    invoice["auto_advance"] = as_bool(params.get("auto_advance"), False)
    invoice["footer"] = params.get("footer") or invoice.get("footer")
    invoice["custom_fields"] = _custom_fields(params.get("custom_fields"))
    if params.get("default_payment_method"):
        invoice["default_payment_method"] = params["default_payment_method"]
    api.emit("invoice.created", invoice)
    return invoice


@route("GET", "/v1/invoices/{id}")
def invoice_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "invoice")


@route("POST", "/v1/invoices/{id}")
def invoice_update(api: Api, params: dict, id: str) -> dict:
    check(
        params,
        {
            "description",
            "metadata",
            "footer",
            "auto_advance",
            "default_payment_method",
            "days_until_due",
            "custom_fields",
            "default_tax_rates",
            "automatic_tax",
        },
    )
    invoice = api.state.get(id, "invoice")
    if {"default_tax_rates", "automatic_tax", "custom_fields"} & set(params):
        if invoice["status"] != "draft" and {"default_tax_rates", "automatic_tax"} & set(params):
            raise SandboxError(400, "You can only change the taxes of a draft invoice.", code="invoice_not_editable")
        tax_rates, automatic = tax_params(api, params)
        if tax_rates is not None or automatic is not None:
            customer = api.state.get(invoice["customer"], "customer")
            prepare(
                api,
                invoice,
                customer,
                tax_rates=invoice["default_tax_rates"] if tax_rates is None else tax_rates,
                automatic=invoice["automatic_tax"]["enabled"] if automatic is None else automatic,
                now=api.state.now(invoice["customer"]),
            )
            retotal(invoice)
        if "custom_fields" in params:
            invoice["custom_fields"] = _custom_fields(params["custom_fields"])
        params = {k: v for k, v in params.items() if k not in ("default_tax_rates", "automatic_tax", "custom_fields")}
    if "auto_advance" in params and invoice["status"] == "open":
        # Automatic collection off: Stripe stops retrying the invoice (no next_payment_attempt); on again,
        # the retry schedule resumes from its attempts so far.
        on = as_bool(params["auto_advance"])
        invoice["next_payment_attempt"] = next_retry(
            {**invoice, "auto_advance": on}, api.state.now(invoice["customer"])
        )
    return update(api, invoice, params, "invoice.updated", bools={"auto_advance"})


def _custom_fields(value) -> list[dict] | None:
    if not value:
        return None
    if isinstance(value, dict):
        value = [value[k] for k in sorted(value, key=int)]
    if len(value) > 4:
        raise SandboxError(400, "An invoice can have at most 4 custom fields.", param="custom_fields")
    fields = []
    for n, field in enumerate(value):
        name, text = str(field.get("name") or ""), str(field.get("value") or "")
        if not name or not text or len(name) > 40 or len(text) > 140:
            raise SandboxError(
                400,
                "Each custom field needs a name (≤ 40 characters) and a value (≤ 140).",
                param=f"custom_fields[{n}]",
            )
        fields.append({"name": name, "value": text})
    return fields


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
        rows = [i for i in rows if invoice_subscription(i) == params["subscription"]]
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
        mark_paid(api, invoice, api.state.now(invoice["customer"]), None)
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
    return create_invoice_item(api, params)


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
    if details.get("items") and not current_period(sub)[0] <= at <= max(current_period(sub)[1], now):
        raise SandboxError(
            400,
            "The proration_date must be within the subscription's current billing period.",
            param="subscription_details[proration_date]",
        )
    behaviour = details.get("proration_behavior") or "create_prorations"
    new_items = (
        changed_items(api, sub, details["items"], now) if details.get("items") else copy_of(sub["items"]["data"])
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
    rates, _ = tax_params(api, details, prefix="subscription_details[")
    _, automatic_given = tax_params(api, {k: v for k, v in params.items() if k == "automatic_tax"})
    if rates is not None or automatic_given is not None:
        prepare(
            api,
            invoice,
            api.state.get(sub["customer"], "customer"),
            tax_rates=invoice["default_tax_rates"] if rates is None else rates,
            automatic=invoice["automatic_tax"]["enabled"] if automatic_given is None else automatic_given,
            now=now,
        )
    start, end = current_period(sub)
    if behaviour != "none":
        for line in lines:
            invoice["lines"]["data"].append(
                invoice_line(
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
        period_lines(api, invoice, preview_sub, now, new_end)
        invoice.update(period_start=now, period_end=new_end, billing_reason="subscription_update")
    elif behaviour == "always_invoice":
        invoice["billing_reason"] = "subscription_update"
    else:
        next_end = period_end(end, new_items[0]["price"]["recurring"])
        period_lines(api, invoice, preview_sub, end, next_end, usage_from=start)
        invoice.update(period_start=end, period_end=next_end, billing_reason="subscription_cycle", created=end)
    retotal(invoice)
    return invoice
