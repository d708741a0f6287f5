"""Writes of the taxes app: the mode, registrations, portal tax rates, customers' tax status and the
taxes on their subscriptions. Each checks its input first (a `TaxError` says what is wrong, and
nothing has reached Stripe), then calls Stripe through the gateway with a key derived from our own
row, so a retry never doubles anything."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django_countries import countries
from djstripe.models import Subscription

from accounts.audit import audit
from accounts.models import Organisation
from billing.stripe import mirror, queue
from billing.stripe.errors import StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from taxes import rates, tax_ids
from taxes.models import (
    CustomerTaxStatus,
    CustomerType,
    PortalTaxRate,
    Registration,
    RegistrationScheme,
    RegistrationType,
    TaxMode,
    TaxSettings,
    TaxStatus,
)
from taxes.selectors import buyer_of, seller, stripe_tax_exempt
from taxes.tax_ids import EU_COUNTRIES
from taxes.treatment import Treatment, treat
from taxes.verification import verify_online

LIVE_STATUSES = ["active", "trialing", "past_due", "incomplete", "unpaid"]


class TaxError(ValueError):
    """Bad input or a refusal, in words for the person at the form; nothing was sent to Stripe."""


def _stripe_failed(error: StripeGatewayError) -> TaxError:
    return TaxError(f"Stripe refused: {error}")


# --- settings ------------------------------------------------------------------------------------
def taxes_reapply(*, reason: str) -> int:
    """After a change that can move customers' taxes (the mode, a registration, a rate): every
    organisation with a Stripe customer is re-applied by a task on the `stripe` queue, after commit.
    Invoices already issued keep their taxes; subscriptions take the new ones from their next invoice."""
    ids = list(Organisation.objects.exclude(stripe_customer_id=None).values_list("pk", flat=True))
    for pk in ids:
        transaction.on_commit(lambda pk=pk: queue.send("taxes.tasks.reapply_customer", pk))
    return len(ids)


@transaction.atomic
def tax_settings_update(*, mode: str, home_country: str, home_state: str = "", actor) -> TaxSettings:
    if mode not in TaxMode.values:
        raise TaxError("Choose Stripe Tax or portal rates.")
    home_country, home_state = (home_country or "").upper(), (home_state or "").upper().strip()
    if home_country not in dict(countries):
        raise TaxError("Choose the country where the company is established.")
    row = TaxSettings.current()
    before = {"mode": row.mode, "home_country": str(row.home_country), "home_state": row.home_state}
    row.mode, row.home_country, row.home_state = mode, home_country, home_state
    row.updated_at, row.updated_by = timezone.now(), actor
    row.save()
    audit(actor, "tax.settings", row, before=before, after={"mode": mode, "home_country": home_country})
    if before["mode"] != mode or before["home_country"] != home_country:
        taxes_reapply(reason="tax.settings")
    return row


# --- registrations -------------------------------------------------------------------------------
def _stripe_registration_params(reg: Registration, active_from: int) -> dict:
    country = str(reg.country).lower()
    if reg.country == "US":
        options = {"type": "state_sales_tax", "state": reg.state}
    elif reg.country == "CA":
        options = {"type": "province_standard", "province_standard": {"province": reg.state}} if reg.state else {}
        options = options or {"type": "standard"}
    elif reg.country in EU_COUNTRIES:
        options = {"type": "oss_union" if reg.scheme == RegistrationScheme.oss_union else "standard"}
    else:
        options = {"type": "standard"}
    params = {"country": str(reg.country), "country_options": {country: options}, "active_from": active_from}
    if reg.effective_to:
        params["expires_at"] = _timestamp(reg.effective_to)
    return params


def _timestamp(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp())


def _check_registration(
    country: str, state: str, tax_type: str, scheme: str, effective_from, effective_to
) -> tuple[str, str]:
    country, state = (country or "").upper().strip(), (state or "").upper().strip()
    if country not in dict(countries):
        raise TaxError("Choose the country of the registration.")
    if tax_type not in RegistrationType.values:
        raise TaxError("Choose the kind of tax (VAT, GST, sales tax or consumption tax).")
    if scheme not in RegistrationScheme.values:
        raise TaxError("Choose the scheme.")
    if scheme == RegistrationScheme.oss_union and country not in EU_COUNTRIES:
        raise TaxError("The EU One-Stop Shop is registered in an EU member state.")
    if country == "US":
        if not state:
            raise TaxError("A US registration is for a state: enter its two-letter code (e.g. CA).")
        if state in rates.US_NO_SALES_TAX:
            raise TaxError(f"{state} has no state sales tax: there is nothing to register for.")
    if state and country not in ("US", "CA"):
        raise TaxError("Only US and Canadian registrations have a state or province.")
    if state and rates.rate_for(f"{country}-{state}") is None:
        raise TaxError(f"{country}-{state} is not a state or province in the rate table.")
    if country not in ("US",) and rates.rate_for(country) is None:
        raise TaxError(f"The rate table has no rate for {country}: the portal cannot collect tax there yet.")
    if effective_from is None:
        raise TaxError("Enter the day the registration takes effect.")
    if effective_to is not None and effective_to <= effective_from:
        raise TaxError("The registration must end after it starts.")
    return country, state


def _overlapping(country: str, state: str, scheme: str, start: dt.date, end: dt.date | None, exclude=None):
    rows = Registration.objects.filter(country=country, state=state, scheme=scheme)
    if exclude is not None:
        rows = rows.exclude(pk=exclude.pk)
    rows = rows.filter(effective_to__isnull=True) | rows.filter(effective_to__gt=start)
    if end is not None:
        rows = rows.filter(effective_from__lt=end)
    return rows.first()


def registration_create(
    *,
    country: str,
    state: str = "",
    tax_type: str,
    scheme: str = RegistrationScheme.standard,
    number: str = "",
    effective_from: dt.date,
    effective_to: dt.date | None = None,
    actor,
) -> Registration:
    """Register a jurisdiction. Stripe Tax mode: a Stripe Tax registration. Portal rates: the
    jurisdiction's tax rate at Stripe. An overlapping registration is refused."""
    country, state = _check_registration(country, state, tax_type, scheme, effective_from, effective_to)
    number = (number or "").strip()[:64]
    clash = _overlapping(country, state, scheme, effective_from, effective_to)
    if clash is not None:
        raise TaxError(f"{clash} overlaps: end it first, or start the new one after it ends.")
    settings = TaxSettings.current()
    with transaction.atomic():
        reg = Registration.objects.create(
            country=country,
            state=state,
            tax_type=tax_type,
            scheme=scheme,
            number=number,
            effective_from=effective_from,
            effective_to=effective_to,
            created_by=actor,
        )
        if settings.mode == TaxMode.stripe_tax:
            today = timezone.now().date()
            active_from = "now" if effective_from <= today else _timestamp(effective_from)
            try:
                answer = gateway().post(
                    "/v1/tax/registrations",
                    _stripe_registration_params(reg, active_from),
                    idempotency_key=key_for("tax.registration.create", reg),
                )
            except StripeGatewayError as error:
                raise _stripe_failed(error) from error
            reg.stripe_id = answer["id"]
            reg.save(update_fields=["stripe_id"])
        audit(actor, "tax.registration.create", reg, jurisdiction=reg.jurisdiction, scheme=scheme, mode=settings.mode)
        taxes_reapply(reason="tax.registration.create")
    if settings.mode == TaxMode.portal_rates:
        for code in registration_jurisdictions(reg):
            tax_rate_ensure(jurisdiction=code, actor=actor)
    return reg


def registration_jurisdictions(reg: Registration) -> list[str]:
    """The rate table entries a registration collects: its own, or every member state for the OSS."""
    if reg.scheme == RegistrationScheme.oss_union:
        return sorted(EU_COUNTRIES)
    return [reg.jurisdiction] if rates.rate_for(reg.jurisdiction) else []


def registration_end(*, registration: Registration, effective_to: dt.date, actor) -> Registration:
    if effective_to is None or effective_to <= registration.effective_from:
        raise TaxError("The registration must end after it starts.")
    if registration.effective_to is not None and registration.effective_to <= timezone.now().date():
        raise TaxError(f"{registration} has already ended.")
    with transaction.atomic():
        registration.effective_to = effective_to
        registration.save(update_fields=["effective_to"])
        if registration.stripe_id:
            ends = "now" if effective_to <= timezone.now().date() else _timestamp(effective_to)
            try:
                gateway().post(
                    f"/v1/tax/registrations/{registration.stripe_id}",
                    {"expires_at": ends},
                    idempotency_key=key_for("tax.registration.end", registration, effective_to.isoformat()),
                )
            except StripeGatewayError as error:
                raise _stripe_failed(error) from error
        audit(actor, "tax.registration.end", registration, effective_to=effective_to.isoformat())
        taxes_reapply(reason="tax.registration.end")
    return registration


# --- portal tax rates ----------------------------------------------------------------------------
def parse_percentage(value) -> Decimal:
    try:
        percentage = Decimal(str(value).strip().rstrip("%").strip())
    except (InvalidOperation, ValueError):
        raise TaxError("Enter the rate as a number of percent, e.g. 19 or 7.25.") from None
    if not percentage.is_finite() or percentage < 0 or percentage > 100:
        raise TaxError("A tax rate is between 0 and 100 %.")
    if percentage != percentage.quantize(Decimal("0.0001")):
        raise TaxError("A tax rate has at most four decimal places.")
    return percentage


def _create_stripe_rate(row: PortalTaxRate) -> None:
    params = {
        "display_name": row.display_name,
        "percentage": str(row.percentage.normalize()),
        "inclusive": "true" if row.inclusive else "false",
        "country": row.country,
        "jurisdiction": row.jurisdiction,
        "tax_type": row.tax_type,
        "description": f"{row.display_name} {row.jurisdiction} (portal rates; source: {row.source[:200]})",
        "metadata": {"portal_tax_rate": str(row.pk)},
    }
    if row.state:
        params["state"] = row.state
    answer = gateway().post("/v1/tax_rates", params, idempotency_key=key_for("tax_rate.create", row))
    row.stripe_id = answer["id"]
    row.save(update_fields=["stripe_id"])
    mirror.apply_object(answer)


def tax_rate_ensure(*, jurisdiction: str, inclusive: bool = False, actor=None) -> PortalTaxRate:
    """The active portal tax rate of a jurisdiction, made at Stripe from the rate table if missing."""
    jurisdiction = jurisdiction.upper()
    row = PortalTaxRate.objects.filter(jurisdiction=jurisdiction, inclusive=inclusive, active=True).first()
    if row is not None:
        return row
    entry = rates.rate_for(jurisdiction)
    if entry is None:
        raise TaxError(f"The rate table has no rate for {jurisdiction}.")
    with transaction.atomic():
        row = PortalTaxRate.objects.create(
            jurisdiction=entry.jurisdiction,
            country=entry.country,
            state=entry.state,
            display_name=entry.label.split(" ")[0],
            tax_type=entry.tax_type,
            percentage=entry.percentage,
            inclusive=inclusive,
            source=entry.source,
            as_of=dt.date.fromisoformat(entry.as_of),
            created_by=actor,
        )
        try:
            _create_stripe_rate(row)
        except StripeGatewayError as error:
            raise _stripe_failed(error) from error
    return row


def tax_rate_change(
    *, jurisdiction: str, percentage, source: str, actor, inclusive: bool = False, as_of: dt.date | None = None
) -> PortalTaxRate:
    """A new rate for a jurisdiction: the old Stripe TaxRate is archived (`active=false`, so invoices
    already issued keep it) and a new one created; subscriptions are moved by `subscription_taxes_apply`."""
    jurisdiction = (jurisdiction or "").upper().strip()
    entry = rates.rate_for(jurisdiction)
    if entry is None:
        raise TaxError(f"{jurisdiction or 'That'} is not a jurisdiction in the rate table.")
    percentage = parse_percentage(percentage)
    source = (source or "").strip()
    if not source:
        raise TaxError("Say where the new rate comes from (the authority's notice or law).")
    old = PortalTaxRate.objects.filter(jurisdiction=jurisdiction, inclusive=inclusive, active=True).first()
    if old is not None and old.percentage == percentage:
        raise TaxError(f"{jurisdiction} is already at {percentage.normalize()} %.")
    with transaction.atomic():
        if old is not None:
            old.active, old.archived_at = False, timezone.now()
            old.save(update_fields=["active", "archived_at"])
        row = PortalTaxRate.objects.create(
            jurisdiction=jurisdiction,
            country=entry.country,
            state=entry.state,
            display_name=entry.label.split(" ")[0],
            tax_type=entry.tax_type,
            percentage=percentage,
            inclusive=inclusive,
            source=source[:300],
            as_of=as_of or timezone.now().date(),
            created_by=actor,
        )
        try:
            if old is not None and old.stripe_id:
                archived = gateway().post(
                    f"/v1/tax_rates/{old.stripe_id}",
                    {"active": "false"},
                    idempotency_key=key_for("tax_rate.archive", old),
                )
                mirror.apply_object(archived)
            _create_stripe_rate(row)
        except StripeGatewayError as error:
            raise _stripe_failed(error) from error
        audit(
            actor,
            "tax.rate.change",
            row,
            jurisdiction=jurisdiction,
            before=str(old.percentage) if old else None,
            after=str(percentage),
            source=source,
        )
        taxes_reapply(reason="tax.rate.change")
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
            idempotency_key=key_for("customer.tax", organisation, _digest(params), version),
        )
    except StripeGatewayError as error:
        raise _stripe_failed(error) from error
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


def _digest(params: dict) -> str:
    return hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:16]


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
            idempotency_key=key_for("subscription.taxes", subscription_id, _digest(params), version or _version(None)),
        )
    except StripeGatewayError as error:
        # Ended meanwhile (the mirror had not heard yet): it needs no taxes; the mirror learns its state.
        current = gateway().get(f"/v1/subscriptions/{subscription_id}")
        if current.get("status") not in LIVE_STATUSES:
            mirror.apply_object(current)
            return current
        raise _stripe_failed(error) from error
    mirror.apply_object(sub)
    return sub
