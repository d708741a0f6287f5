"""Customer balance transactions: credits and debits on a customer's balance, applied to the next
invoice when it finalizes (`POST/GET /v1/customers/{id}/balance_transactions`)."""

from __future__ import annotations

from ..core import SandboxError
from ..engine.balance import balance_transaction
from ..routing import Api, as_int, check, need, route


@route("POST", "/v1/customers/{id}/balance_transactions")
def balance_transaction_create(api: Api, params: dict, id: str) -> dict:
    check(params, {"amount", "currency", "description", "metadata"})
    customer = api.state.get(id, "customer")
    amount = as_int(need(params, "amount"), "amount")
    currency = str(need(params, "currency")).lower()
    if amount == 0:
        raise SandboxError(400, "The amount must not be zero.", param="amount")
    if customer.get("currency") and customer["currency"] != currency:
        raise SandboxError(
            400,
            f"The customer's balance is in {customer['currency']}; a transaction in {currency} cannot be added.",
            param="currency",
        )
    return balance_transaction(
        api,
        customer,
        amount,
        currency=currency,
        type="adjustment",
        description=params.get("description"),
        metadata=params.get("metadata") or {},
    )


@route("GET", "/v1/customers/{id}/balance_transactions/{txn}")
def balance_transaction_get(api: Api, params: dict, id: str, txn: str) -> dict:
    found = api.state.get(txn, "customer_balance_transaction")
    if found["customer"] != id:
        raise SandboxError(404, f"No such customer balance transaction: '{txn}'", code="resource_missing")
    return found


@route("GET", "/v1/customers/{id}/balance_transactions")
def balance_transaction_list(api: Api, params: dict, id: str) -> list:
    api.state.get(id, "customer")
    rows = [t for t in api.state.all("customer_balance_transaction") if t["customer"] == id]
    return rows
