"""Payment methods: create (also with a publishable key, for Stripe.js), update, attach, detach, list."""

from __future__ import annotations

import time

from ..core import SandboxError
from ..engine.payments import attach_payment_method, create_payment_method
from ..routing import Api, check, need, route, update


@route("POST", "/v1/payment_methods", publishable=True)
def payment_method_create(api: Api, params: dict) -> dict:
    check(
        params,
        {
            "type",
            "card",
            "us_bank_account",
            "sepa_debit",
            "au_becs_debit",
            "acss_debit",
            "ideal",
            "bancontact",
            "bacs_debit",
            "billing_details",
            "metadata",
            "customer",
            "payment_method",
            "allow_redisplay",
        },
    )
    return create_payment_method(api.state, params, int(time.time()))


@route("GET", "/v1/payment_methods/{id}")
def payment_method_get(api: Api, params: dict, id: str) -> dict:
    return api.state.get(id, "payment_method")


@route("POST", "/v1/payment_methods/{id}")
def payment_method_update(api: Api, params: dict, id: str) -> dict:
    check(params, {"billing_details", "metadata", "card", "allow_redisplay"})
    return update(api, api.state.get(id, "payment_method"), params, "payment_method.updated")


@route("POST", "/v1/payment_methods/{id}/attach")
def payment_method_attach(api: Api, params: dict, id: str) -> dict:
    check(params, {"customer"})
    customer = api.state.get(need(params, "customer"), "customer", param="customer")
    return attach_payment_method(api, id, customer)


@route("POST", "/v1/payment_methods/{id}/detach")
def payment_method_detach(api: Api, params: dict, id: str) -> dict:
    pm = api.state.get(id, "payment_method")
    if not pm.get("customer"):
        raise SandboxError(
            400,
            "The payment method you provided is not attached to a customer.",
            code="payment_method_unexpected_state",
        )
    customer = api.state.objects.get(pm["customer"])
    pm["customer"] = None
    if customer and customer["invoice_settings"].get("default_payment_method") == id:
        update(api, customer, {"invoice_settings": {"default_payment_method": None}}, "customer.updated")
    for sub in api.state.all("subscription"):
        if sub.get("default_payment_method") == id:
            update(api, sub, {"default_payment_method": None}, "customer.subscription.updated")
    api.emit("payment_method.detached", pm, {"customer": customer["id"] if customer else None})
    return pm


def _payment_method_rows(api: Api, customer: str, kind: str | None) -> list:
    rows = [p for p in api.state.all("payment_method") if p.get("customer") == customer]
    return [p for p in rows if p["type"] == kind] if kind else rows


@route("GET", "/v1/payment_methods")
def payment_method_list(api: Api, params: dict) -> list:
    if params.get("customer"):
        api.state.get(params["customer"], "customer", param="customer")
        return _payment_method_rows(api, params["customer"], params.get("type"))
    return [p for p in api.state.all("payment_method") if not params.get("type") or p["type"] == params["type"]]


@route("GET", "/v1/customers/{customer}/payment_methods")
def customer_payment_methods(api: Api, params: dict, customer: str) -> list:
    api.state.get(customer, "customer", param="customer")
    return _payment_method_rows(api, customer, params.get("type"))
