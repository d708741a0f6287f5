"""The customer's credit balance: transactions that move it, and applying it to an invoice as
Stripe does when the invoice finalizes (a credit lowers the amount due; a debit raises it)."""

from __future__ import annotations

from ..core import make, new_id
from ..routing import Api


def balance_transaction(
    api: Api,
    customer: dict,
    amount: int,
    *,
    currency: str,
    type: str,
    description: str | None = None,
    metadata: dict | None = None,
    invoice: str | None = None,
    at: int | None = None,
) -> dict:
    """Move `customer`'s balance by `amount` (negative: a credit) and record it."""
    previous = {"balance": customer.get("balance") or 0}
    txn = make(
        "customer_balance_transaction",
        id=new_id("customer_balance_transaction"),
        amount=amount,
        currency=currency,
        customer=customer["id"],
        created=at if at is not None else api.state.now(customer["id"]),
        credit_note=None,
        description=description,
        ending_balance=previous["balance"] + amount,
        invoice=invoice,
        metadata=metadata or {},
        type=type,
    )
    api.state.add(txn)
    customer["balance"] = txn["ending_balance"]
    if not customer.get("currency"):
        customer["currency"] = currency
    api.emit("customer.updated", customer, previous)
    return txn


def apply_balance(api: Api, invoice: dict, customer: dict) -> None:
    """At finalization: take the customer's balance into the invoice's amount due (a credit up to
    the total, a debit whole) and leave the rest on the customer."""
    balance = customer.get("balance") or 0
    invoice["starting_balance"] = balance
    if not balance or invoice["total"] < 0 or (customer.get("currency") or invoice["currency"]) != invoice["currency"]:
        invoice["ending_balance"] = balance
        return
    applied = max(balance, -invoice["total"]) if balance < 0 else balance
    if applied:
        balance_transaction(
            api,
            customer,
            -applied,
            currency=invoice["currency"],
            type="applied_to_invoice",
            invoice=invoice["id"],
        )
    due = invoice["total"] + applied
    invoice.update(amount_due=due, amount_remaining=due - invoice["amount_paid"])
    invoice["ending_balance"] = customer.get("balance") or 0
