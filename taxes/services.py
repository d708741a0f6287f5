"""Writes of the taxes app: the mode, customers' tax status and the taxes on their subscriptions
(registrations: `taxes.registrations`; portal tax rates: `taxes.tax_rates`; both importable from
here). Each checks its input first (a `TaxError` says what is wrong, and nothing has reached
Stripe), then calls Stripe through the gateway with a key derived from our own row, so a retry
never doubles anything."""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.utils import timezone
from django_countries import countries
from djstripe.models import Subscription

from accounts.audit import audit
from accounts.models import Organisation
from billing.stripe import mirror
from billing.stripe.errors import StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from taxes import rates, tax_ids
from taxes.common import LIVE_STATUSES, TaxError, digest, stripe_failed, taxes_reapply  # noqa: F401 (re-exported)
from taxes.models import (
    CustomerTaxStatus,
    CustomerType,
    TaxBehavior,
    TaxMode,
    TaxSettings,
    TaxStatus,
)
from taxes.registrations import registration_create, registration_end, registration_jurisdictions  # noqa: F401
from taxes.selectors import buyer_of, seller, stripe_tax_exempt
from taxes.tax_rates import parse_percentage, tax_rate_change, tax_rate_ensure  # noqa: F401
from taxes.treatment import Treatment, treat
from taxes.verification import verify_online

# --- settings ------------------------------------------------------------------------------------
TAX_CODE = re.compile(r"^txcd_\d{8}$")


@transaction.atomic
def tax_settings_update(
    *,
    mode: str,
    home_country: str,
    home_state: str = "",
    tax_behavior: str = TaxBehavior.exclusive,
    tax_code: str = "txcd_10103001",
    actor,
) -> TaxSettings:
    """The mode, the head office and how prices carry tax. In the Stripe Tax mode, Stripe's tax
    settings (`/v1/tax/settings`: head office, default tax code and behaviour) are set to match."""
    if mode not in TaxMode.values:
        raise TaxError("Choose Stripe Tax or portal rates.")
    home_country, home_state = (home_country or "").upper(), (home_state or "").upper().strip()
    if home_country not in dict(countries):
        raise TaxError("Choose the country where the company is established.")
    if tax_behavior not in TaxBehavior.values:
        raise TaxError("Choose whether prices include tax or not.")
    tax_code = (tax_code or "").strip()
    if not TAX_CODE.match(tax_code):
        raise TaxError("A Stripe product tax code looks like txcd_10103001 (SaaS, business use).")
    row = TaxSettings.current()
    before = {"mode": row.mode, "home_country": str(row.home_country), "home_state": row.home_state}
    before.update(tax_behavior=row.tax_behavior, tax_code=row.tax_code)
    row.mode, row.home_country, row.home_state = mode, home_country, home_state
    row.tax_behavior, row.tax_code = tax_behavior, tax_code
    row.updated_at, row.updated_by = timezone.now(), actor
    row.save()
    if mode == TaxMode.stripe_tax:
        address = {"country": home_country, **({"state": home_state} if home_state else {})}
        params = {"defaults": {"tax_behavior": tax_behavior, "tax_code": tax_code}, "head_office": {"address": address}}
        try:
            gateway().post("/v1/tax/settings", params, idempotency_key=key_for("tax.settings", row, digest(params)))
        except StripeGatewayError as error:
            raise stripe_failed(error) from error
    after = {"mode": mode, "home_country": home_country, "home_state": home_state}
    after.update(tax_behavior=tax_behavior, tax_code=tax_code)
    audit(actor, "tax.settings", row, before=before, after=after)
    if {k: before[k] for k in ("mode", "home_country", "tax_behavior")} != {
        k: after[k] for k in ("mode", "home_country", "tax_behavior")
    }:
        taxes_reapply(reason="tax.settings")
    return row


# --- customers ---------------------------------------------------------------------------------------
def customer_tax_status_set(
    *,
    organisation: Organisation,
    status: str,
    customer_type: str,
    state: str = "",
    tax_id_type: str = "",
    tax_id_value: str = "",
    certificate_ref: str = "",
    certificate_expires: dt.date | None = None,
    note: str = "",
    actor,
    subscription_ids: tuple[str, ...] = (),
) -> CustomerTaxStatus:
    """Check, store and tell Stripe (`tax_exempt`, the reverse-charge note on invoices)."""
    if status not in TaxStatus.values:
        raise TaxError("Choose taxable, exempt or reverse charge.")
    if customer_type not in CustomerType.values:
        raise TaxError("Choose business or consumer.")
    state = (state or "").upper().strip()
    if state and rates.rate_for(f"{organisation.country}-{state}") is None:
        raise TaxError(f"{state} is not a state or province of {organisation.country} in the rate table.")
    compact, online = "", None
    if tax_id_value.strip():
        compact = tax_ids.validate(tax_id_type, tax_id_value)  # TaxIdError says why
        online = verify_online(tax_id_type, compact)
        if online.status == "invalid":
            raise TaxError(f"{compact}: {online.message}.")
    certificate_ref = (certificate_ref or "").strip()[:120]
    today = timezone.now().date()
    if status == TaxStatus.exempt:
        if not certificate_ref:
            raise TaxError("An exemption needs the exemption certificate's reference.")
        if certificate_expires is None:
            raise TaxError("An exemption needs the day its certificate expires.")
        if certificate_expires < today:
            raise TaxError(
                f"That certificate expired on {certificate_expires:%Y-%m-%d}: ask the customer for a new one."
            )
    if status == TaxStatus.reverse_charge and customer_type != CustomerType.business:
        raise TaxError("Only a business can account for the tax itself (reverse charge).")
    if status == TaxStatus.reverse_charge and not compact:
        raise TaxError("Reverse charge needs the customer's tax ID.")
    if not organisation.stripe_customer_id:
        raise TaxError(f"{organisation} has no Stripe customer yet.")
    with transaction.atomic():
        row, _ = CustomerTaxStatus.objects.select_for_update().get_or_create(organisation=organisation)
        before = {"status": row.status, "tax_id": row.tax_id_value, "certificate": row.certificate_ref}
        row.status, row.customer_type, row.state = status, customer_type, state
        row.tax_id_type, row.tax_id_value = (tax_id_type if compact else ""), compact
        row.tax_id_online = (f"{online.message} {online.name}".strip() if online else "")[:120]
        row.certificate_ref = certificate_ref if status == TaxStatus.exempt else ""
        row.certificate_expires = certificate_expires if status == TaxStatus.exempt else None
        row.note, row.updated_by, row.updated_at = (note or "").strip()[:300], actor, timezone.now()
        row.save()
        treatment = customer_tax_apply(organisation=organisation, status=row, subscription_ids=subscription_ids)
        audit(
            actor,
            "tax.customer_status",
            organisation,
            before=before,
            after={"status": status, "tax_id": compact, "certificate": row.certificate_ref},
            treatment=treatment.kind,
        )
    return row


def customer_tax_apply(
    *, organisation: Organisation, status: CustomerTaxStatus | None = None, subscription_ids: tuple[str, ...] = ()
) -> Treatment:
    """Tell Stripe the customer's `tax_exempt` and the legal note its invoices carry; then move its
    subscriptions (the mirror's live ones, and `subscription_ids` not mirrored yet) to the taxes of
    the current mode."""
    status = status or CustomerTaxStatus.objects.filter(organisation=organisation).first()
    treatment = treat(seller(), buyer_of(organisation, status=status), timezone.now().date())
    exempt = stripe_tax_exempt(treatment)
    fields = [{"name": "Tax", "value": treatment.note[:140]}] if treatment.note else ""
    params = {"tax_exempt": exempt, "invoice_settings": {"custom_fields": fields, "footer": treatment.note or ""}}
    version = _version(status)
    try:
        customer = gateway().post(
            f"/v1/customers/{organisation.stripe_customer_id}",
            params,
            idempotency_key=key_for("customer.tax", organisation, digest(params), version),
        )
    except StripeGatewayError as error:
        raise stripe_failed(error) from error
    mirror.apply_object(customer)
    if status is not None and status.stripe_tax_exempt != exempt:
        CustomerTaxStatus.objects.filter(pk=status.pk).update(stripe_tax_exempt=exempt)
        status.stripe_tax_exempt = exempt
    live = Subscription.objects.filter(
        customer_id=organisation.stripe_customer_id,
        stripe_data__status__in=LIVE_STATUSES,
    ).values_list("id", flat=True)
    for sub_id in dict.fromkeys([*live, *subscription_ids]):
        subscription_taxes_apply(subscription_id=sub_id, treatment=treatment, version=version)
    return treatment


def _version(status: CustomerTaxStatus | None) -> str:
    """What makes a repeat of the same Stripe parameters a new request: the mode's and the status's
    last change (taxable -> exempt -> taxable sends `none` twice, and both must reach Stripe)."""
    settings = TaxSettings.current()
    saved = 0 if settings._state.adding else settings.updated_at.timestamp()  # never saved: the defaults
    stamp = status.updated_at.timestamp() if status else 0
    return f"{saved:.6f}-{stamp:.6f}"


def subscription_taxes_apply(*, subscription_id: str, treatment: Treatment, version: str = "") -> dict:
    """Stripe Tax mode: `automatic_tax` on. Portal rates: the treatment's tax rates as the default."""
    if TaxSettings.current().mode == TaxMode.stripe_tax:
        params: dict = {"automatic_tax": {"enabled": "true"}, "default_tax_rates": ""}
    else:
        ids = []
        if treatment.kind == "taxed":
            ids = [tax_rate_ensure(jurisdiction=c.jurisdiction).stripe_id for c in treatment.components]
        params = {"automatic_tax": {"enabled": "false"}, "default_tax_rates": ids or ""}
    try:
        sub = gateway().post(
            f"/v1/subscriptions/{subscription_id}",
            params,
            idempotency_key=key_for("subscription.taxes", subscription_id, digest(params), version or _version(None)),
        )
    except StripeGatewayError as error:
        # Ended meanwhile (the mirror had not heard yet): it needs no taxes; the mirror learns its state.
        current = gateway().get(f"/v1/subscriptions/{subscription_id}")
        if current.get("status") not in LIVE_STATUSES:
            mirror.apply_object(current)
            return current
        raise stripe_failed(error) from error
    mirror.apply_object(sub)
    return sub
