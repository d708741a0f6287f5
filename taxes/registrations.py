"""Registrations: where the company collects tax. In the Stripe Tax mode each is a Stripe Tax
registration; with portal rates, registering makes the jurisdiction's Stripe tax rates."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django_countries import countries

from accounts.audit import audit
from billing.stripe.errors import StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from taxes import rates
from taxes.common import TaxError, stripe_failed, taxes_reapply
from taxes.models import Registration, RegistrationScheme, RegistrationType, TaxMode, TaxSettings
from taxes.tax_ids import EU_COUNTRIES
from taxes.tax_rates import tax_rate_ensure


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
                raise stripe_failed(error) from error
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
                raise stripe_failed(error) from error
        audit(actor, "tax.registration.end", registration, effective_to=effective_to.isoformat())
        taxes_reapply(reason="tax.registration.end")
    return registration
