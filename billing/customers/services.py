"""Writes toward Stripe for customers: each with an idempotency key from our own row, audited."""

from __future__ import annotations

from django.db import transaction

from accounts.audit import audit
from accounts.models import Organisation
from billing.risk.blocklist import check_setup_allowed
from billing.stripe import mirror
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for


def customer_create(
    *,
    organisation: Organisation,
    actor=None,
    address: dict | None = None,
    locales: list[str] | None = None,
    tax_exempt: str = "none",
    test_clock: str | None = None,
    write_through: bool = True,
) -> dict:
    """Create the organisation's Stripe customer once. Safe to call twice: the key replays the first answer."""
    if organisation.stripe_customer_id:
        return gateway().get(f"/v1/customers/{organisation.stripe_customer_id}")
    params: dict = {
        "name": organisation.name,
        "email": organisation.billing_email,
        "address": address or {"country": organisation.country.code},
        "preferred_locales": locales or [],
        "tax_exempt": tax_exempt,
        "metadata": {"organisation_id": str(organisation.pk), "organisation_slug": organisation.slug},
    }
    if test_clock:
        params["test_clock"] = test_clock
    customer = gateway().post("/v1/customers", params, idempotency_key=key_for("customer.create", organisation))
    with transaction.atomic():
        Organisation.objects.filter(pk=organisation.pk).update(stripe_customer_id=customer["id"])
        organisation.stripe_customer_id = customer["id"]
        if write_through:
            mirror.apply_object(customer)
        audit(actor, "customer.create", organisation, stripe_customer_id=customer["id"])
    return customer


def setup_intent_create(
    *,
    organisation: Organisation,
    method_type: str,
    request_key: str,
    actor=None,
    payment_method_options: dict | None = None,
) -> dict:
    """Start collecting a payment method off-session; the browser confirms it with Stripe.js.
    `payment_method_options`: what the type needs besides (`countries.setup_intent_options`).

    Refused with `PaymentMethodBlocked` (a ValueError whose message the customer may read) when the
    organisation, its customer's email or the person acting is on the block list."""
    if not organisation.stripe_customer_id:
        raise ValueError(f"{organisation.name} has no Stripe customer yet")
    check_setup_allowed(organisation=organisation, actor=actor)
    params: dict = {"customer": organisation.stripe_customer_id, "usage": "off_session"}
    params["payment_method_types"] = [method_type]
    if payment_method_options:
        params["payment_method_options"] = payment_method_options
    setup = gateway().post(
        "/v1/setup_intents", params, idempotency_key=key_for("setup_intent.create", organisation, request_key)
    )
    audit(actor, "setup_intent.create", organisation, setup_intent=setup["id"], method_type=method_type)
    return setup


def customer_set_default_payment_method(
    *, organisation: Organisation, payment_method_id: str, request_key: str, actor=None
) -> dict:
    """The method new invoices of this customer are charged to (a subscription's own default wins).
    `request_key` names this request: setting A, then B, then A again are three requests."""
    customer = gateway().post(
        f"/v1/customers/{organisation.stripe_customer_id}",
        {"invoice_settings": {"default_payment_method": payment_method_id}},
        idempotency_key=key_for("customer.default_payment_method", organisation, payment_method_id, request_key),
    )
    with transaction.atomic():
        mirror.apply_object(customer)
        audit(actor, "customer.default_payment_method", organisation, payment_method=payment_method_id)
    return customer
