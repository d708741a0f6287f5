"""The portal's Stripe tax rates: made from the rate table when a jurisdiction is registered, and
changed by archiving the old Stripe TaxRate and creating a new one (issued invoices keep theirs)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit
from billing.stripe import mirror
from billing.stripe.errors import StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from taxes import rates
from taxes.common import TaxError, stripe_failed, taxes_reapply
from taxes.models import PortalTaxRate, TaxBehavior, TaxSettings


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


def _inclusive(inclusive: bool | None) -> bool:
    return TaxSettings.current().tax_behavior == TaxBehavior.inclusive if inclusive is None else inclusive


def tax_rate_ensure(*, jurisdiction: str, inclusive: bool | None = None, actor=None) -> PortalTaxRate:
    """The active portal tax rate of a jurisdiction (inclusive or not, as prices are by default),
    made at Stripe from the rate table if missing."""
    jurisdiction, inclusive = jurisdiction.upper(), _inclusive(inclusive)
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
            raise stripe_failed(error) from error
    return row


def tax_rate_change(
    *, jurisdiction: str, percentage, source: str, actor, inclusive: bool | None = None, as_of: dt.date | None = None
) -> PortalTaxRate:
    """A new rate for a jurisdiction: the old Stripe TaxRate is archived (`active=false`, so invoices
    already issued keep it) and a new one created; subscriptions are moved by `subscription_taxes_apply`."""
    jurisdiction = (jurisdiction or "").upper().strip()
    entry = rates.rate_for(jurisdiction)
    if entry is None:
        raise TaxError(f"{jurisdiction or 'That'} is not a jurisdiction in the rate table.")
    percentage, inclusive = parse_percentage(percentage), _inclusive(inclusive)
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
            raise stripe_failed(error) from error
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
