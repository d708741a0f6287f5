"""Taxes in the demo: the company (established in California) collects in US-CA, the EU through the
One-Stop Shop in Germany, GB, AU, Canada and Japan with the portal's rates; every organisation gets
its tax status before its year runs, so its renewals carry the right tax — some exempt (with a
certificate), some EU and UK businesses reverse-charged, US customers spread over states (some
where the company is not registered, for the threshold monitor).

All through `taxes.services`; a second run finds the registrations and changes nothing there.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from taxes import services
from taxes.models import Registration, TaxMode, TaxSettings

REGISTRATIONS = [
    # country, state, tax type, scheme, number
    ("US", "CA", "sales_tax", "standard", "CA-SR-102-345678"),
    ("DE", "", "vat", "oss_union", "EU276012345 (OSS)"),
    ("GB", "", "vat", "standard", "GB980780684"),
    ("AU", "", "gst", "standard", "ABN 51 824 753 556"),
    ("CA", "", "gst", "standard", "123456782RT0001"),
    ("JP", "", "consumption_tax", "standard", "T5835678256246"),
]
# Valid (check-digit correct) VAT numbers for the reverse-charged businesses.
VAT_IDS = {
    "FR": ("eu_vat", "FR40303265045"),
    "NL": ("eu_vat", "NL004495445B01"),
    "ES": ("eu_vat", "ESA13585625"),
    "IE": ("eu_vat", "IE6388047V"),
    "SE": ("eu_vat", "SE556703748501"),
    "GB": ("gb_vat", "GB980780684"),
}
US_STATES = ["CA", "TX", "NY", "CA", "WA", "FL"]


def _admin():
    return get_user_model().objects.get(username="finance-admin")


def prepare(builder) -> None:
    """Before the organisations: the mode, where the company is established, its registrations."""
    admin = _admin()
    if TaxSettings.current().mode != TaxMode.portal_rates or not Registration.objects.exists():
        services.tax_settings_update(mode=TaxMode.portal_rates, home_country="US", home_state="CA", actor=admin)
    since = dt.datetime.fromtimestamp(builder.end, dt.UTC).date() - dt.timedelta(days=400)
    for country, state, tax_type, scheme, number in REGISTRATIONS:
        if Registration.objects.filter(country=country, state=state, scheme=scheme).exists():
            continue
        services.registration_create(
            country=country,
            state=state,
            tax_type=tax_type,
            scheme=scheme,
            number=number,
            effective_from=since,
            actor=admin,
        )


class Statuses:
    """A builder hook: each organisation's tax status, set before its year is lived."""

    def __init__(self):
        self.admin = _admin()
        self.counts: dict[str, int] = {}

    def __call__(self, builder, index: int, story) -> None:
        org = story.organisation
        country = org.country.code
        kwargs: dict = {"status": "taxable", "customer_type": "business"}
        if index % 21 == 5:
            expires = dt.datetime.fromtimestamp(builder.end, dt.UTC).date() + dt.timedelta(days=300)
            kwargs.update(
                status="exempt", certificate_ref=f"EXEMPT-{org.slug[:20].upper()}", certificate_expires=expires
            )
        elif country in VAT_IDS and index % 2 == 1:
            kind, value = VAT_IDS[country]
            kwargs.update(tax_id_type=kind, tax_id_value=value)
        elif country in ("DE", "FR", "ES", "NL", "IE", "SE", "JP", "AU", "GB") and index % 4 == 0:
            kwargs.update(customer_type="consumer")
        if country == "US":
            kwargs["state"] = US_STATES[index % len(US_STATES)]
        if country == "CA":
            kwargs["state"] = "ON" if index % 2 else "QC"
        row = services.customer_tax_status_set(
            organisation=org,
            actor=self.admin,
            subscription_ids=(story.subscription_id,) if story.subscription_id else (),
            **kwargs,
        )
        kind = {"none": "taxable or not collected", "exempt": "exempt", "reverse": "reverse charge"}[
            row.stripe_tax_exempt or "none"
        ]
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def summary(self) -> str:
        return ", ".join(f"{count} {kind}" for kind, count in sorted(self.counts.items()))
