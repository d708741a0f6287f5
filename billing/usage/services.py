"""Writes of the usage app: meters (with their Stripe meter and metered prices) and finance's
corrections. Every call toward Stripe is keyed by our row; every change is audited."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit
from billing.stripe import mirror
from billing.stripe.errors import StripeGatewayError, StripeUnavailable
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from billing.usage import periods
from billing.usage.models import (
    Aggregation,
    CorrectionRoute,
    Meter,
    MeterPrice,
    ReportStatus,
    UsageCorrection,
    UsagePeriod,
)


class UsageError(ValueError):
    """A request finance or a customer can correct; the message is safe to show."""


def meter_create(
    *,
    key: str,
    name: str,
    unit: str,
    aggregation: str,
    prices: dict[str, int],
    actor,
    inactive_after_days: int = 14,
) -> Meter:
    """A meter, its Stripe meter and a metered monthly price per currency (minor units per unit)."""
    if aggregation not in Aggregation.values:
        raise UsageError(f"Aggregation must be one of {', '.join(Aggregation.values)}")
    if Meter.objects.filter(key=key).exists():
        raise UsageError(f"A meter with the key {key} exists already")
    meter = Meter.objects.create(
        key=key, name=name, unit=unit or "unit", aggregation=aggregation, inactive_after_days=inactive_after_days
    )
    client = gateway()
    event_name = f"portal_{key}"
    stripe_meter = client.post(
        "/v1/billing/meters",
        {
            "display_name": name,
            "event_name": event_name,
            "default_aggregation": {"formula": meter.stripe_formula},
            "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
            "value_settings": {"event_payload_key": "value"},
        },
        idempotency_key=key_for("usage.meter.create", meter),
    )
    product = client.post(
        "/v1/products",
        {"name": name, "metadata": {"meter": key}},
        idempotency_key=key_for("usage.meter.product", meter),
    )
    mirror.apply_object(product)
    meter.stripe_meter_id, meter.stripe_event_name = stripe_meter["id"], event_name
    meter.stripe_product_id = product["id"]
    meter.save(update_fields=["stripe_meter_id", "stripe_event_name", "stripe_product_id"])
    audit(actor, "usage.meter.create", meter, key=key, aggregation=aggregation, stripe_meter=stripe_meter["id"])
    for currency, unit_amount in prices.items():
        meter_price_add(meter=meter, currency=currency, unit_amount=unit_amount, actor=actor)
    return meter


def meter_price_add(*, meter: Meter, currency: str, unit_amount: int, actor) -> MeterPrice:
    """The metered monthly price `meter` bills through in `currency`; once per currency."""
    currency = currency.lower()
    if not isinstance(unit_amount, int) or unit_amount < 0:
        raise UsageError("The unit amount is a whole number of minor units, at least 0")
    existing = MeterPrice.objects.filter(meter=meter, currency=currency).first()
    if existing:
        return existing
    price = gateway().post(
        "/v1/prices",
        {
            "product": meter.stripe_product_id,
            "currency": currency,
            "unit_amount": unit_amount,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.stripe_meter_id},
            "lookup_key": f"meter_{meter.key}_{currency}",
            "nickname": meter.name,
            "metadata": {"meter": meter.key},
        },
        idempotency_key=key_for("usage.meter.price", meter, currency),
    )
    mirror.apply_object(price)
    row = MeterPrice.objects.create(
        meter=meter, currency=currency, unit_amount=unit_amount, stripe_price_id=price["id"]
    )
    audit(actor, "usage.meter.price", meter, currency=currency, unit_amount=unit_amount, price=price["id"])
    return row


def late_unbilled(period: UsagePeriod, *, now: dt.datetime | None = None) -> int:
    """For an invoiced period: units its events add beyond what was billed, less corrections made."""
    if period.closed_at is None or period.meter.stripe_formula != "sum":
        return 0
    corrected = sum(
        c.quantity
        for c in period.corrections.all()
        if c.route == CorrectionRoute.invoice_item and c.status != ReportStatus.failed
    )
    return periods.value(period, now=now or timezone.now()) - period.reported_value - corrected


@transaction.atomic
def correction_create(*, period: UsagePeriod, quantity: int, reason: str, actor) -> UsageCorrection:
    """Amend a period by `quantity` units with a reason. Before invoicing, it goes to Stripe's meter
    with the next report; after, as an invoice item on the customer's next invoice (sent at once)."""
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("Say why: the reason is kept with the correction and shown to the customer")
    if not isinstance(quantity, int) or quantity == 0:
        raise UsageError("The correction is a whole number of units, not zero")
    period = UsagePeriod.objects.select_for_update().select_related("meter").get(pk=period.pk)
    if period.meter.aggregation == Aggregation.active_seats and period.closed_at is None:
        raise UsageError("Active seats follow members' activity; correct an open period by its events")
    late = 0
    if period.closed_at is None:
        if period.reported_value + quantity < 0:
            raise UsageError(f"The period has {period.reported_value} units reported; it cannot go below zero")
        route, amount = CorrectionRoute.meter_event, None
    else:
        if period.unit_amount is None:
            raise UsageError("The period's price has no unit amount; correct it in Stripe")
        route, amount = CorrectionRoute.invoice_item, quantity * period.unit_amount
        late = max(0, min(quantity, late_unbilled(period)))
    correction = UsageCorrection.objects.create(
        period=period,
        quantity=quantity,
        reason=reason[:2000],
        route=route,
        amount=amount,
        late_events=late,
        actor=actor,
    )
    audit(
        actor,
        "usage.correction.create",
        correction,
        organisation=period.organisation,
        period=period.pk,
        quantity=quantity,
        route=route,
        amount=amount,
        reason=reason[:500],
    )
    return correction


def correction_send(correction: UsageCorrection) -> UsageCorrection:
    """An invoice-item correction to Stripe (pending on the customer's next invoice). Safe twice."""
    if correction.route != CorrectionRoute.invoice_item or correction.status != ReportStatus.pending:
        return correction
    period = correction.period
    meter = period.meter
    sign = "added" if correction.quantity > 0 else "removed"
    try:
        item = gateway().post(
            "/v1/invoiceitems",
            {
                "customer": period.customer_id,
                "currency": period.currency,
                "amount": correction.amount,
                "description": (
                    f"Usage correction: {abs(correction.quantity):,} {meter.unit}(s) of {meter.name} {sign} for "
                    f"{period.start:%-d %b} – {period.end:%-d %b %Y}. {correction.reason}"
                )[:500],
                "period": {"start": int(period.start.timestamp()), "end": int(period.end.timestamp())},
                "metadata": {"portal_usage_correction": str(correction.pk), "meter": meter.key},
            },
            idempotency_key=key_for("usage.correction", correction),
        )
    except StripeUnavailable:
        return correction  # stays pending; the next run sends it
    except StripeGatewayError as error:
        correction.status, correction.error = ReportStatus.failed, error.message[:1000]
        correction.save(update_fields=["status", "error"])
        return correction
    correction.status, correction.stripe_id, correction.sent_at = ReportStatus.sent, item["id"], timezone.now()
    correction.save(update_fields=["status", "stripe_id", "sent_at"])
    return correction


def corrections_send() -> int:
    pending = UsageCorrection.objects.filter(route=CorrectionRoute.invoice_item, status=ReportStatus.pending)
    done = 0
    for correction in pending.select_related("period__meter")[:200]:
        correction_send(correction)
        done += 1
    return done


def metered_subscription_create(
    *,
    organisation,
    meters: list[Meter],
    currency: str,
    request_key: str,
    payment_method_id: str | None = None,
    actor=None,
) -> dict:
    """A monthly subscription billing `meters` in arrears, through their prices in `currency`."""
    if not organisation.stripe_customer_id:
        raise UsageError(f"{organisation.name} has no Stripe customer yet")
    items = []
    for meter in meters:
        price = meter.prices.filter(currency=currency.lower()).first()
        if price is None:
            raise UsageError(f"{meter.name} has no price in {currency.upper()}")
        items.append({"price": price.stripe_price_id})
    params: dict = {
        "customer": organisation.stripe_customer_id,
        "items": items,
        "metadata": {"organisation_id": str(organisation.pk)},
    }
    if payment_method_id:
        params["default_payment_method"] = payment_method_id
    subscription = gateway().post(
        "/v1/subscriptions", params, idempotency_key=key_for("usage.subscription", organisation, request_key)
    )
    with transaction.atomic():
        mirror.apply_object(subscription)
        audit(
            actor,
            "usage.subscription.create",
            organisation,
            subscription=subscription["id"],
            meters=[m.key for m in meters],
        )
    return subscription
