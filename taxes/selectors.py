"""Reads of the taxes app: the seller and a customer as the treatment engine sees them, the settings
page's rows, and the treatment of an organisation."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from djstripe.models import Customer, TaxId

from accounts.models import Organisation
from taxes import rates
from taxes.models import CustomerTaxStatus, CustomerType, PortalTaxRate, Registration, TaxSettings, TaxStatus
from taxes.tax_ids import EU_COUNTRIES
from taxes.treatment import Buyer, Reg, Seller, Treatment, treat


def seller(settings: TaxSettings | None = None) -> Seller:
    settings = settings or TaxSettings.current()
    regs = tuple(
        Reg(str(r.country), r.state, r.scheme, r.effective_from, r.effective_to)
        for r in Registration.objects.only("country", "state", "scheme", "effective_from", "effective_to")
    )
    return Seller(str(settings.home_country), regs)


def _mirror_tax_id(customer_id: str | None) -> tuple[str, str]:
    if not customer_id:
        return "", ""
    for data in TaxId.objects.filter(customer__id=customer_id).values_list("stripe_data", flat=True):
        if data and data.get("type") in ("eu_vat", "gb_vat", "ch_vat", "no_vat", "au_abn", "nz_gst", "jp_cn", "ca_bn"):
            return data["type"], data.get("value") or ""
    return "", ""


def _address_state(customer_id: str | None, customer: Customer | None = None) -> str:
    if not customer_id:
        return ""
    if customer is not None and customer.id == customer_id:
        data = customer.stripe_data or {}
    else:
        data = Customer.objects.filter(id=customer_id).values_list("stripe_data", flat=True).first() or {}
    return ((data.get("address") or {}).get("state") or "").upper()


def buyer_of(
    organisation: Organisation, *, status: CustomerTaxStatus | None = None, customer: Customer | None = None
) -> Buyer:
    """The organisation as the engine sees it: its status if finance set one, else what the mirror
    knows (billing address state, tax IDs the customer added), a business by default."""
    if status is None:
        status = CustomerTaxStatus.objects.filter(organisation=organisation).first()
    kind, value = (status.tax_id_type, status.tax_id_value) if status and status.tax_id_value else ("", "")
    if not value:
        kind, value = _mirror_tax_id(organisation.stripe_customer_id)
    return Buyer(
        country=str(organisation.country),
        state=(status.state if status and status.state else _address_state(organisation.stripe_customer_id, customer)),
        business=status is None or status.customer_type == CustomerType.business,
        tax_id=value,
        tax_id_type=kind,
        exempt_until=status.certificate_expires if status and status.status == TaxStatus.exempt else None,
        forced_reverse_charge=bool(status and status.status == TaxStatus.reverse_charge),
    )


def stripe_tax_exempt(treatment: Treatment) -> str:
    return treatment.stripe_tax_exempt


def treatment_of(organisation: Organisation, day: dt.date | None = None) -> Treatment:
    return treat(seller(), buyer_of(organisation), day or timezone.now().date())


def settings_page() -> dict:
    settings = TaxSettings.current()
    today = timezone.now().date()
    registrations = list(Registration.objects.select_related("created_by"))
    for reg in registrations:
        reg.is_active = reg.active_on(today)
    active_rates = {r.jurisdiction: r for r in PortalTaxRate.objects.filter(active=True, inclusive=False)}
    table = [
        {"entry": entry, "portal": active_rates.get(code), "registered": False}
        for code, entry in sorted(rates.RATES.items())
    ]
    registered = {code for reg in registrations if reg.is_active for code in _codes(reg)}
    for row in table:
        row["registered"] = row["entry"].jurisdiction in registered
    return {
        "settings": settings,
        "registrations": registrations,
        "table": table,
        "archived": PortalTaxRate.objects.filter(active=False).order_by("-archived_at")[:50],
    }


def _codes(reg: Registration) -> list[str]:
    if reg.scheme == "oss_union":
        return sorted(EU_COUNTRIES)
    return [reg.jurisdiction]
