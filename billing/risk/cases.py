"""Cases refreshed from the mirror: whatever order events arrive in, a case shows the mirror's newest
state of its review, warning or dispute, of its charge and of its customer."""

from __future__ import annotations

import datetime as dt

from django.db.models import Value
from django.utils import timezone
from djstripe.models import Charge, Customer, Dispute, EarlyFraudWarning, Review

from billing.currencies.models import FxRate
from billing.money import round_minor, to_decimal
from billing.risk.models import CLOSED_STATUSES, DisputeCase, ReviewCase, WarningCase


def when(ts) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC) if ts else None


def reporting_currency() -> str:
    from django.conf import settings

    return settings.PORTAL_REPORTING_CURRENCY


def to_reporting(amount: int, currency: str, day: dt.date) -> int | None:
    """`amount` in the reporting currency with the rate of `day` (the latest on or before it, else the
    earliest known, as `RateBook` does); None without any rate."""
    quote = reporting_currency()
    currency = (currency or "").lower()
    if not currency:
        return None
    if currency == quote:
        return amount
    rates = FxRate.objects.filter(currency=currency, quote=quote)
    rate = (
        rates.filter(day__lte=day).order_by("-day").values_list("rate", flat=True).first()
        or rates.order_by("day").values_list("rate", flat=True).first()
    )
    if rate is None:
        return None
    return round_minor(to_decimal(amount, currency) * rate, quote)


def _id(value) -> str:
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def _mirror(model, object_id: str) -> dict | None:
    if not object_id:
        return None
    return model.objects.filter(id=object_id, livemode__isnull=False).values_list("stripe_data", flat=True).first()


def _customer(customer_id: str) -> dict:
    return _mirror(Customer, customer_id) or {}


def _customer_country(customer: dict) -> str:
    return ((customer.get("address") or {}).get("country") or "").upper()


def card_details(charge: dict) -> dict:
    details = charge.get("payment_method_details") or {}
    return details.get(details.get("type") or "card") or {}


def _rule(outcome: dict) -> str:
    rule = outcome.get("rule")
    if isinstance(rule, dict):
        return (rule.get("predicate") or rule.get("id") or "")[:500]
    return (rule or "")[:500]


def review_refresh(review_id: str, *, at: dt.datetime | None = None) -> ReviewCase | None:
    review = _mirror(Review, review_id)
    if review is None:
        return None
    charge_id = _id(review.get("charge"))
    charge = _mirror(Charge, charge_id) or {}
    customer_id = _id(charge.get("customer"))
    customer = _customer(customer_id)
    card = card_details(charge)
    outcome = charge.get("outcome") or {}
    email = (customer.get("email") or (charge.get("billing_details") or {}).get("email") or "").lower()
    created = when(review.get("created")) or timezone.now()
    existing = ReviewCase.objects.filter(pk=review_id).values_list("closed_at", flat=True).first()
    is_open = bool(review.get("open"))
    values = {
        "charge_id": charge_id or None,
        "customer_id": customer_id or None,
        "amount": charge.get("amount") or 0,
        "currency": (charge.get("currency") or "").lower(),
        "created_at": created,
        "open": is_open,
        "reason": review.get("reason") or "",
        "opened_reason": review.get("opened_reason") or "",
        "closed_reason": "" if is_open else (review.get("closed_reason") or ""),
        "closed_at": None if is_open else (existing or at or timezone.now()),
        "risk_score": outcome.get("risk_score"),
        "risk_level": outcome.get("risk_level") or "",
        "rule": _rule(outcome),
        "card_country": (card.get("country") or "").upper()[:2],
        "card_fingerprint": card.get("fingerprint") or "",
        "card_label": " ".join(p for p in ((card.get("brand") or "").title(), card.get("last4") or "") if p),
        "customer_country": _customer_country(customer),
        "ip_address": review.get("ip_address") or "",
        "ip_country": ((review.get("ip_address_location") or {}).get("country") or "").upper()[:2],
        "email": email[:254],
        "email_domain": email.rpartition("@")[2][:253],
    }
    values["amount_reporting"] = (
        to_reporting(values["amount"], values["currency"], created.date()) if values["currency"] else None
    )
    case, _ = ReviewCase.objects.update_or_create(review_id=review_id, defaults=values)
    return case


def warning_refresh(warning_id: str) -> WarningCase | None:
    warning = _mirror(EarlyFraudWarning, warning_id)
    if warning is None:
        return None
    charge_id = _id(warning.get("charge"))
    charge = _mirror(Charge, charge_id) or {}
    created = when(warning.get("created")) or timezone.now()
    amount, currency = charge.get("amount") or 0, (charge.get("currency") or "").lower()
    case, _ = WarningCase.objects.update_or_create(
        warning_id=warning_id,
        defaults={
            "charge_id": charge_id or None,
            "customer_id": _id(charge.get("customer")) or None,
            "amount": amount,
            "currency": currency,
            "amount_reporting": to_reporting(amount, currency, created.date()) if currency else None,
            "created_at": created,
            "fraud_type": warning.get("fraud_type") or "",
            "actionable": bool(warning.get("actionable")),
        },
    )
    return case


def dispute_refresh(dispute_id: str, *, at: dt.datetime | None = None) -> DisputeCase | None:
    dispute = _mirror(Dispute, dispute_id)
    if dispute is None:
        return None
    charge_id = _id(dispute.get("charge"))
    charge = _mirror(Charge, charge_id) or {}
    customer_id = _id(charge.get("customer"))
    details = dispute.get("evidence_details") or {}
    method = dispute.get("payment_method_details") or {}
    created = when(dispute.get("created")) or timezone.now()
    status = dispute.get("status") or ""
    existing = DisputeCase.objects.filter(pk=dispute_id).values_list("closed_at", flat=True).first()
    amount, currency = dispute.get("amount") or 0, (dispute.get("currency") or "").lower()
    case, _ = DisputeCase.objects.update_or_create(
        dispute_id=dispute_id,
        defaults={
            "charge_id": charge_id or None,
            "customer_id": customer_id or None,
            "amount": amount,
            "currency": currency,
            "amount_reporting": to_reporting(amount, currency, created.date()) if currency else None,
            "created_at": created,
            "status": status,
            "reason": dispute.get("reason") or "",
            "network_reason_code": ((method.get("card") or {}).get("network_reason_code") or "")[:32],
            "due_by": when(details.get("due_by")),
            "has_evidence": bool(details.get("has_evidence")),
            "submission_count": details.get("submission_count") or 0,
            "country": _customer_country(_customer(customer_id))
            or (card_details(charge).get("country") or "").upper()[:2],
            "closed_at": (existing or at or timezone.now()) if status in CLOSED_STATUSES else None,
        },
    )
    return case


def _cases_of(**match) -> list[tuple[str, str]]:
    """(kind, id) of every case matching `match`, in one query (every charge event asks)."""
    kinds = [(ReviewCase, "review"), (WarningCase, "warning"), (DisputeCase, "dispute")]
    queries = [
        model.objects.filter(**match).order_by().annotate(kind=Value(kind)).values_list("kind", "pk")
        for model, kind in kinds
    ]
    return list(queries[0].union(*queries[1:], all=True))


def refresh_for_charge(charge_id: str) -> None:
    """A charge changed: the cases that show it follow."""
    refresh = {"review": review_refresh, "warning": warning_refresh, "dispute": dispute_refresh}
    for kind, pk in _cases_of(charge_id=charge_id):
        refresh[kind](pk)


def refresh_for_customer(customer_id: str) -> None:
    """A customer changed (email, country): the cases of its charges follow."""
    refresh = {"review": review_refresh, "warning": warning_refresh, "dispute": dispute_refresh}
    for kind, pk in _cases_of(customer_id=customer_id):
        refresh[kind](pk)
