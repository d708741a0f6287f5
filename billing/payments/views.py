from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from djstripe.models import Charge

from accounts.access import finance_required
from accounts.models import Organisation
from billing.money import to_decimal
from billing.payments.filters import PaymentFilter
from billing.ui.lists import Column, ListSpec, list_response


def _organisation(charge: Charge) -> Organisation | None:
    try:
        return charge.customer.organisation if charge.customer else None
    except Organisation.DoesNotExist:
        return None


def _rows(charges: list[Charge]) -> list[dict]:
    return [{"charge": c, "d": c.stripe_data, "organisation": _organisation(c)} for c in charges]


def _csv(charge: Charge) -> list:
    d, currency = charge.stripe_data, charge.stripe_data.get("currency") or ""
    organisation = _organisation(charge)
    return [
        charge.id,
        charge.payment_intent_id or "",
        charge.customer_id or "",
        organisation.name if organisation else "",
        d.get("status"),
        currency.upper(),
        to_decimal(d.get("amount") or 0, currency) if currency else "",
        to_decimal(d.get("amount_refunded") or 0, currency) if currency else "",
        (d.get("payment_method_details") or {}).get("type") or "",
        d.get("failure_code") or "",
        d.get("failure_message") or "",
        charge.created.isoformat() if charge.created else "",
    ]


PAYMENTS = ListSpec(
    name="payments",
    filterset=PaymentFilter,
    columns=[
        Column("When", sort="created"),
        Column("Customer"),
        Column("Result"),
        Column("Method"),
        Column("Amount", sort="amount", num=True),
        Column("Payment"),
    ],
    sorts={"created": ("created",), "amount": ("stripe_data__amount",)},
    default_sort="-created",
    results_template="payments/_results.html",
    csv_header=[
        "charge_id",
        "payment_intent_id",
        "customer_id",
        "organisation",
        "status",
        "currency",
        "amount",
        "refunded",
        "method",
        "failure_code",
        "failure_message",
        "created",
    ],
    csv_row=_csv,
    decorate=_rows,
    depends_on=("djstripe.Charge", "djstripe.Customer", "accounts.Organisation"),
)


@finance_required()
def payment_list(request: HttpRequest) -> HttpResponse:
    charges = Charge.mirror.real().select_related("customer", "customer__organisation").defer("customer__stripe_data")
    return list_response(request, PAYMENTS, charges, page_template="payments/list.html")
