"""Billing details a customer's billing admin keeps current: the legal name and address invoices
carry, where invoices are emailed, and tax IDs — checked (format and check digits, python-stdnum)
before anything goes to Stripe, then added to Stripe's customer tax IDs, whose verification status
arrives later by event (`customer.tax_id.updated`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django_countries import countries
from djstripe.models import Customer, TaxId

from accounts.audit import audit
from accounts.models import Organisation
from billing.customers.models import RequestKind
from billing.customers.payment_methods import NotYours
from billing.customers.requests import CustomerRequestError, begin, done, failed, repeat
from billing.stripe import mirror
from billing.stripe.errors import StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from taxes import tax_ids

MAX_EXTRA_EMAILS = 5
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")


def clean_emails(primary: str, extra: str) -> tuple[str, list[str]]:
    primary = (primary or "").strip().lower()
    others = [e.strip().lower() for e in (extra or "").replace(";", ",").replace("\n", ",").split(",") if e.strip()]
    for email in [primary, *others]:
        try:
            validate_email(email)
        except ValidationError:
            raise CustomerRequestError(f"“{email or 'the billing email'}” is not an email address.") from None
    if len(others) > MAX_EXTRA_EMAILS:
        raise CustomerRequestError(f"Add at most {MAX_EXTRA_EMAILS} more addresses.")
    return primary, [e for e in dict.fromkeys(others) if e != primary]


def billing_details_update(
    *, organisation: Organisation, name: str, email: str, extra_emails: str, address: dict, request_id, actor=None
) -> dict:
    """The legal name, billing emails and address on the Stripe customer (and the organisation's own copy)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise CustomerRequestError("Enter the legal name invoices are made out to (up to 200 characters).")
    primary, others = clean_emails(email, extra_emails)
    address = {key: (address.get(key) or "").strip()[:200] for key in ADDRESS_FIELDS}
    if address["country"] not in dict(countries):
        raise CustomerRequestError("Choose the country of the billing address.")
    if not address["line1"] or not address["city"]:
        raise CustomerRequestError("Enter the street and the city of the billing address.")
    if not organisation.stripe_customer_id:
        raise CustomerRequestError("Your organisation has no billing account yet.")
    before = Customer.objects.filter(id=organisation.stripe_customer_id).values_list("stripe_data", flat=True).first()
    row, created = begin(
        organisation=organisation,
        kind=RequestKind.billing_details,
        request_id=request_id,
        actor=actor,
        params={"name": name, "email": primary, "extra_emails": others, "address": address},
    )
    if not created:
        repeat(row)
        return before or {}
    try:
        customer = gateway().post(
            f"/v1/customers/{organisation.stripe_customer_id}",
            {
                "name": name,
                "email": primary,
                "address": address,
                "metadata": {"billing_emails_cc": ", ".join(others)},
            },
            idempotency_key=key_for("customer.billing_details", row),
        )
    except StripeGatewayError as error:
        raise failed(row, error) from error
    with transaction.atomic():
        mirror.apply_object(customer)
        Organisation.objects.filter(pk=organisation.pk).update(billing_email=primary, country=address["country"])
        organisation.billing_email, organisation.country = primary, address["country"]
        done(row)
        previous = before or {}
        audit(
            actor,
            "customer.billing_details",
            organisation,
            request=row.pk,
            before={"name": previous.get("name"), "email": previous.get("email"), "address": previous.get("address")},
            after={"name": name, "email": primary, "address": address, "billing_emails_cc": others},
        )
    return customer


def tax_id_add(*, organisation: Organisation, kind: str, value: str, request_id, actor=None) -> dict:
    """Check the number (TaxIdError says what is wrong), then add it to the Stripe customer."""
    compact = tax_ids.validate(kind, value)  # raises TaxIdError (a ValueError) with a message for people
    if not organisation.stripe_customer_id:
        raise CustomerRequestError("Your organisation has no billing account yet.")
    if TaxId.objects.filter(
        customer__id=organisation.stripe_customer_id, stripe_data__type=kind, stripe_data__value=compact
    ).exists():
        raise CustomerRequestError(f"{compact} is already on file.")
    row, created = begin(
        organisation=organisation,
        kind=RequestKind.tax_id_add,
        request_id=request_id,
        actor=actor,
        params={"type": kind, "value": compact},
    )
    if not created:
        repeat(row)
        return {}
    try:
        tax_id = gateway().post(
            f"/v1/customers/{organisation.stripe_customer_id}/tax_ids",
            {"type": kind, "value": compact},
            idempotency_key=key_for("customer.tax_id.create", row),
        )
    except StripeGatewayError as error:
        raise failed(row, error) from error
    with transaction.atomic():
        mirror.apply_object(tax_id)
        done(row, tax_id=tax_id["id"])
        audit(
            actor,
            "customer.tax_id.add",
            object_type="djstripe.taxid",
            object_id=tax_id["id"],
            organisation=organisation,
            type=kind,
            value=compact,
        )
    return tax_id


def tax_id_remove(*, organisation: Organisation, tax_id_id: str, request_id, actor=None) -> None:
    row_tax = TaxId.objects.filter(id=tax_id_id, customer__id=organisation.stripe_customer_id or "-").first()
    if row_tax is None or not organisation.stripe_customer_id:
        raise NotYours(tax_id_id)
    row, created = begin(
        organisation=organisation,
        kind=RequestKind.tax_id_remove,
        request_id=request_id,
        actor=actor,
        params={"tax_id": tax_id_id},
    )
    if not created:
        repeat(row)
        return
    try:
        deleted = gateway().delete(
            f"/v1/customers/{organisation.stripe_customer_id}/tax_ids/{tax_id_id}",
            idempotency_key=key_for("customer.tax_id.delete", row),
        )
    except StripeGatewayError as error:
        raise failed(row, error) from error
    with transaction.atomic():
        mirror.apply_object({**deleted, "object": "tax_id", "deleted": True})
        done(row)
        audit(
            actor,
            "customer.tax_id.remove",
            object_type="djstripe.taxid",
            object_id=tax_id_id,
            organisation=organisation,
            type=row_tax.stripe_data.get("type"),
            value=row_tax.stripe_data.get("value"),
        )
