"""A customer's payment methods, managed by their billing admins: added through a SetupIntent that
Stripe.js confirms in the browser (card, US bank account, SEPA or Bacs Direct Debit, as the
organisation's country and currency allow), bank accounts verified by micro-deposits, one made the
default, one no subscription uses removed. Each write is a `CustomerRequest` row keyed to Stripe,
written through to the mirror and audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from djstripe.models import Customer, PaymentMethod, Subscription

from accounts.audit import audit
from accounts.models import Organisation
from billing.currencies.countries import Method, currency_for_country, payment_methods_for
from billing.customers.models import RequestKind
from billing.customers.requests import CustomerRequestError, begin, done, failed, repeat
from billing.customers.services import customer_create, setup_intent_create
from billing.stripe import mirror
from billing.stripe.errors import InvalidRequest, StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for


class NotYours(LookupError):
    """An id that is not the organisation's (or does not exist): a 404, never a 403."""


def billing_currency(organisation: Organisation) -> str:
    """What the organisation is billed in: its subscriptions' currency, else its country's."""
    live = Subscription.mirror.for_customer(organisation.stripe_customer_id).live().order_by("-created").first()
    if live is not None and live.stripe_data.get("currency"):
        return live.stripe_data["currency"].lower()
    return currency_for_country(organisation.country.code)


def methods_offered(organisation: Organisation) -> list[Method]:
    return payment_methods_for(organisation.country.code, billing_currency(organisation))


def usage_by_method(customer: Customer | None, subscriptions: list[Subscription]) -> dict[str, list[Subscription]]:
    """Which live subscriptions each payment method pays: its own default, else the customer's."""
    default = ((customer.stripe_data.get("invoice_settings") or {}).get("default_payment_method")) if customer else None
    used: dict[str, list[Subscription]] = {}
    for subscription in subscriptions:
        data = subscription.stripe_data
        if data.get("status") not in ("active", "trialing", "past_due"):
            continue
        if data.get("collection_method") == "send_invoice":
            continue  # invoiced: paid by transfer, not charged to a method
        method = data.get("default_payment_method") or default
        method = method["id"] if isinstance(method, dict) else method
        if method:
            used.setdefault(method, []).append(subscription)
    return used


# --- adding -----------------------------------------------------------------------------------
def setup_start(*, organisation: Organisation, method_type: str, request_id, actor=None) -> dict:
    """A SetupIntent for one method type, for Stripe.js to confirm. The same form twice: the same intent."""
    offered = {m.type: m for m in methods_offered(organisation)}
    if method_type not in offered:
        raise CustomerRequestError(
            "That kind of payment method is not offered for your organisation's country and currency."
        )
    if not organisation.stripe_customer_id:
        customer_create(organisation=organisation, actor=actor)
    row, created = begin(
        organisation=organisation,
        kind=RequestKind.setup_intent,
        request_id=request_id,
        actor=actor,
        params={"type": method_type},
    )
    if not created:
        repeat(row)
        if row.result.get("setup_intent"):
            try:
                return gateway().get(f"/v1/setup_intents/{row.result['setup_intent']}")
            except StripeGatewayError as error:
                raise CustomerRequestError(error.message) from error
    try:
        setup = setup_intent_create(
            organisation=organisation, method_type=method_type, request_key=f"request-{row.pk}", actor=actor
        )
    except StripeGatewayError as error:
        raise failed(row, error) from error
    except ValueError as error:  # refused before Stripe (no customer; a blocked payer)
        raise failed(row, str(error)) from error
    done(row, setup_intent=setup["id"])
    return setup


def setup_intent_for(organisation: Organisation, setup_intent_id: str) -> dict:
    """The organisation's own SetupIntent, as Stripe has it now."""
    if not organisation.stripe_customer_id or not str(setup_intent_id).startswith("seti_"):
        raise NotYours(setup_intent_id)
    try:
        setup = gateway().get(f"/v1/setup_intents/{setup_intent_id}")
    except InvalidRequest as error:
        raise NotYours(setup_intent_id) from error
    except StripeGatewayError as error:
        raise CustomerRequestError(error.message) from error
    if setup.get("customer") != organisation.stripe_customer_id:
        raise NotYours(setup_intent_id)
    return setup


@dataclass
class Outcome:
    status: str  # saved | verify | failed
    message: str = ""
    payment_method: dict | None = None
    setup_intent: dict | None = None


def setup_finish(
    *, organisation: Organisation, setup_intent_id: str, make_default: bool = False, actor=None
) -> Outcome:
    """After Stripe.js confirmed: save what Stripe saved (payment method, mandate) into the mirror."""
    setup = setup_intent_for(organisation, setup_intent_id)
    status = setup.get("status")
    if status == "requires_action" and (setup.get("next_action") or {}).get("type") == "verify_with_microdeposits":
        return Outcome("verify", "Two small deposits are on their way to this account.", setup_intent=setup)
    if status != "succeeded":
        error = (setup.get("last_setup_error") or {}).get("message")
        return Outcome("failed", error or "The payment method was not saved. Try again.", setup_intent=setup)
    row, created = begin(
        organisation=organisation,
        kind=RequestKind.payment_method_add,
        actor=actor,
        request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"payment_method_add:{setup['id']}"),
    )
    method_id = setup["payment_method"] if isinstance(setup["payment_method"], str) else setup["payment_method"]["id"]
    if not created:
        return Outcome(
            "saved",
            payment_method=PaymentMethod.objects.filter(id=method_id).values_list("stripe_data", flat=True).first(),
        )
    client = gateway()
    try:
        method = client.get(f"/v1/payment_methods/{method_id}")
        mandate = client.get(f"/v1/mandates/{setup['mandate']}") if setup.get("mandate") else None
    except StripeGatewayError as error:
        raise failed(row, error) from error
    with transaction.atomic():
        mirror.apply_object(method)
        if mandate:
            mirror.apply_object(mandate)
        done(row, payment_method=method_id, mandate=mandate["id"] if mandate else None)
        audit(
            actor,
            "payment_method.add",
            object_type="djstripe.paymentmethod",
            object_id=method_id,
            organisation=organisation,
            type=method.get("type"),
            setup_intent=setup["id"],
            mandate=mandate["id"] if mandate else None,
        )
    customer = Customer.objects.filter(id=organisation.stripe_customer_id).first()
    has_default = customer and (customer.stripe_data.get("invoice_settings") or {}).get("default_payment_method")
    if make_default or not has_default:
        payment_method_set_default(
            organisation=organisation,
            payment_method_id=method_id,
            actor=actor,
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"default_after:{setup['id']}"),
        )
    return Outcome("saved", payment_method=method)


def microdeposits_verify(
    *, organisation: Organisation, setup_intent_id: str, descriptor_code: str = "", amounts=(), request_id, actor=None
) -> Outcome:
    """The customer types what arrived on their statement: the six-character code (or the two amounts)."""
    setup = setup_intent_for(organisation, setup_intent_id)
    code = (descriptor_code or "").strip().upper()
    params: dict
    if code:
        if len(code) != 6 or not code.startswith("SM") or not code.isalnum():
            raise CustomerRequestError("The code is six characters and starts with SM, e.g. SM11AA.")
        params = {"descriptor_code": code}
    else:
        try:
            cents = [int(str(a).strip()) for a in amounts if str(a).strip()]
        except ValueError:
            raise CustomerRequestError("Enter each amount in cents, e.g. 32 and 45.") from None
        if len(cents) != 2 or not all(1 <= c <= 99 for c in cents):
            raise CustomerRequestError("Enter the two amounts in cents (between 1 and 99), e.g. 32 and 45.")
        params = {"amounts": cents}
    row, created = begin(
        organisation=organisation,
        kind=RequestKind.verify_microdeposits,
        request_id=request_id,
        actor=actor,
        params={"setup_intent": setup["id"]},
    )
    if created:
        try:
            gateway().post(
                f"/v1/setup_intents/{setup['id']}/verify_microdeposits",
                params,
                idempotency_key=key_for("setup_intent.verify_microdeposits", row),
            )
        except StripeGatewayError as error:
            audit(
                actor,
                "payment_method.verify.failed",
                object_type="djstripe.setupintent",
                object_id=setup["id"],
                organisation=organisation,
                error=error.message,
            )
            raise failed(row, error) from error
        done(row)
    else:
        repeat(row)
    return setup_finish(organisation=organisation, setup_intent_id=setup["id"], actor=actor)


# --- default and removal --------------------------------------------------------------------------
def _own_method(organisation: Organisation, payment_method_id: str) -> PaymentMethod:
    method = PaymentMethod.mirror.for_customer(organisation.stripe_customer_id).filter(id=payment_method_id).first()
    if method is None:
        raise NotYours(payment_method_id)
    return method


def payment_method_set_default(*, organisation: Organisation, payment_method_id: str, request_id, actor=None) -> dict:
    """The method the customer's invoices are charged to (a subscription's own method wins)."""
    _own_method(organisation, payment_method_id)
    row, created = begin(
        organisation=organisation,
        kind=RequestKind.default_payment_method,
        request_id=request_id,
        actor=actor,
        params={"payment_method": payment_method_id},
    )
    if not created:
        repeat(row)
        return {}
    try:
        customer = gateway().post(
            f"/v1/customers/{organisation.stripe_customer_id}",
            {"invoice_settings": {"default_payment_method": payment_method_id}},
            idempotency_key=key_for("customer.default_payment_method", row),
        )
    except StripeGatewayError as error:
        raise failed(row, error) from error
    with transaction.atomic():
        mirror.apply_object(customer)
        done(row)
        audit(actor, "customer.default_payment_method", organisation, payment_method=payment_method_id, request=row.pk)
    return customer


def payment_method_remove(*, organisation: Organisation, payment_method_id: str, request_id, actor=None) -> None:
    """Detach a method no live subscription is charged to."""
    method = _own_method(organisation, payment_method_id)
    customer = Customer.objects.filter(id=organisation.stripe_customer_id).first()
    subscriptions = list(Subscription.mirror.for_customer(organisation.stripe_customer_id).live())
    users = usage_by_method(customer, subscriptions).get(payment_method_id, [])
    if users:
        names = ", ".join(_plan_name(s) for s in users)
        raise CustomerRequestError(
            f"This payment method pays {names}. Choose another method for "
            f"{'it' if len(users) == 1 else 'them'} first, then remove this one."
        )
    row, created = begin(
        organisation=organisation,
        kind=RequestKind.detach_payment_method,
        request_id=request_id,
        actor=actor,
        params={"payment_method": payment_method_id},
    )
    if not created:
        repeat(row)
        return
    client = gateway()
    written = []
    try:
        default = (
            (customer.stripe_data.get("invoice_settings") or {}).get("default_payment_method") if customer else None
        )
        if default == payment_method_id:
            written.append(
                client.post(
                    f"/v1/customers/{organisation.stripe_customer_id}",
                    {"invoice_settings": {"default_payment_method": ""}},
                    idempotency_key=key_for("customer.default_payment_method.clear", row),
                )
            )
        written.append(
            client.post(
                f"/v1/payment_methods/{payment_method_id}/detach",
                {},
                idempotency_key=key_for("payment_method.detach", row),
            )
        )
    except StripeGatewayError as error:
        raise failed(row, error) from error
    with transaction.atomic():
        for obj in written:
            mirror.apply_object(obj)
        done(row)
        audit(
            actor,
            "payment_method.remove",
            object_type="djstripe.paymentmethod",
            object_id=payment_method_id,
            organisation=organisation,
            type=method.stripe_data.get("type"),
        )


def _plan_name(subscription: Subscription) -> str:
    items = (subscription.stripe_data.get("items") or {}).get("data") or []
    price = items[0]["price"] if items else {}
    return price.get("nickname") or subscription.id
