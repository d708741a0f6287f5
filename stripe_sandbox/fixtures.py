"""Bulk fixtures for load tests: many customers with a past-due invoice each, made in one request.

Each is made by the same handlers as Stripe's API (a customer with a test card as its default, a
one-off invoice with one line, finalized and attempted once), so every object has Stripe's shape;
only the HTTP round trips are saved. Without `events`, nothing is recorded or delivered for them
(the portal backfills what it needs), which keeps ten thousand of them light.
"""

from __future__ import annotations

from .core import SandboxError
from .resources.customers import customer_create
from .resources.invoices import invoice_create, invoice_finalize, invoice_item_create, invoice_pay
from .resources.payment_methods import payment_method_attach
from .routing import Api, as_bool, as_int, check

MAX_COUNT = 20_000


def past_due_invoices(api: Api, body: dict) -> dict:
    """`{"count": 1000, "currency": "usd", "amount": 2500, "payment_method": "pm_card_chargeCustomerFail",
    "auto_advance": false, "events": false, "country": "US", "prefix": "load"}` ->
    `{"customers": [...], "invoices": [...]}`, in creation order."""
    check(body, {"count", "currency", "amount", "payment_method", "auto_advance", "events", "country", "prefix"})
    count = as_int(body.get("count"), "count", 100)
    if not 1 <= count <= MAX_COUNT:
        raise SandboxError(400, f"count must be between 1 and {MAX_COUNT}.", param="count")
    currency = str(body.get("currency") or "usd").lower()
    amount = as_int(body.get("amount"), "amount", 2500)
    token = str(body.get("payment_method") or "pm_card_chargeCustomerFail")
    prefix = str(body.get("prefix") or "load")
    quiet = not as_bool(body.get("events"), True)
    target = Api(api.state, (lambda *args, **kwargs: None) if quiet else api.emit, api.base_url)
    customers, invoices = [], []
    for n in range(count):
        customer = customer_create(
            target,
            {
                "email": f"billing+{prefix}{n}@load.example",
                "name": f"{prefix.capitalize()} customer {n}",
                "address": {"country": str(body.get("country") or "US")},
            },
        )
        method = payment_method_attach(target, {"customer": customer["id"]}, token)
        customer["invoice_settings"]["default_payment_method"] = method["id"]
        invoice = invoice_create(
            target,
            {
                "customer": customer["id"],
                "currency": currency,
                "auto_advance": "true" if as_bool(body.get("auto_advance"), True) else "false",
            },
        )
        invoice_item_create(
            target,
            {
                "customer": customer["id"],
                "invoice": invoice["id"],
                "amount": amount,
                "currency": currency,
                "description": "Seats",
            },
        )
        invoice_finalize(target, {}, invoice["id"])
        try:
            invoice_pay(target, {}, invoice["id"])
        except SandboxError:
            pass  # the decline is the point: the invoice stays open, attempted once
        customers.append(customer["id"])
        invoices.append(invoice["id"])
    return {"customers": customers, "invoices": invoices}
