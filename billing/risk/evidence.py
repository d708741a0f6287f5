"""Stripe's dispute evidence fields as the form shows them, and the first draft the portal writes
from what it knows: the customer, the invoice the charge paid and its service period, the plan, the
organisation's activity (usage when the usage app is installed), the invoices sent to the customer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from djstripe.models import Charge, Customer, Invoice

from accounts.models import AuditLog
from billing.money import format_money
from billing.risk.models import DisputeCase, ReviewCase

FIELD_LIMIT = 20_000  # Stripe: long text fields
SHORT_LIMIT = 5_000
TOTAL_LIMIT = 150_000  # Stripe: all text fields together
FILE_MAX_BYTES = 5 * 1024 * 1024  # Stripe's files API, purpose dispute_evidence
FILE_TYPES = {"pdf": "PDF", "jpg": "JPEG", "png": "PNG"}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # "short", "long" or "file"
    help: str = ""
    reasons: tuple[str, ...] = ()  # shown only for these dispute reasons (empty: always)


FIELDS = [
    Field("customer_name", "Customer name", "short"),
    Field("customer_email_address", "Customer email", "short"),
    Field("billing_address", "Billing address", "short"),
    Field("customer_purchase_ip", "IP address at purchase", "short"),
    Field("product_description", "Product or service", "long", "What the customer bought, as they saw it."),
    Field("service_date", "Service date", "short", "When the service was provided (the billing period)."),
    Field(
        "access_activity_log",
        "Activity and usage log",
        "long",
        "Proof the customer used the service: dates, activity, usage.",
    ),
    Field(
        "cancellation_policy_disclosure",
        "How the cancellation policy was shown",
        "long",
        reasons=("subscription_canceled",),
    ),
    Field(
        "cancellation_rebuttal",
        "Why the subscription was not cancelled",
        "long",
        reasons=("subscription_canceled",),
    ),
    Field("refund_policy_disclosure", "How the refund policy was shown", "long"),
    Field("refund_refusal_explanation", "Why no refund was given", "long", reasons=("credit_not_processed", "general")),
    Field("duplicate_charge_id", "The other charge (ch_…)", "short", reasons=("duplicate",)),
    Field("duplicate_charge_explanation", "Why the charges are not duplicates", "long", reasons=("duplicate",)),
    Field("uncategorized_text", "Anything else (invoices sent, correspondence)", "long"),
    Field("receipt", "Receipt or invoice", "file"),
    Field("customer_communication", "Customer communication", "file"),
    Field("service_documentation", "Service documentation", "file"),
    Field("cancellation_policy", "Cancellation policy", "file", reasons=("subscription_canceled",)),
    Field("refund_policy", "Refund policy", "file"),
    Field("customer_signature", "Signed contract or order form", "file"),
    Field("duplicate_charge_documentation", "Documents for the other charge", "file", reasons=("duplicate",)),
    Field("uncategorized_file", "Other file", "file"),
]
BY_NAME = {f.name: f for f in FIELDS}
TEXT_FIELDS = [f.name for f in FIELDS if f.kind != "file"]
FILE_FIELDS = [f.name for f in FIELDS if f.kind == "file"]


def fields_for(reason: str) -> list[Field]:
    return [f for f in FIELDS if not f.reasons or reason in f.reasons]


def _date(ts) -> str:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).strftime("%Y-%m-%d") if ts else ""


def _address(customer: dict) -> str:
    a = customer.get("address") or {}
    city = " ".join(p for p in (a.get("postal_code"), a.get("city")) if p)
    return ", ".join(p for p in (a.get("line1"), a.get("line2"), city, a.get("state"), a.get("country")) if p)


def invoice_of(charge: dict) -> Invoice | None:
    payment_intent = charge.get("payment_intent")
    if not payment_intent:
        return None
    return Invoice.objects.filter(payment_intent__id=payment_intent).order_by("-created").first()


def usage_summary(organisation) -> str:
    """Usage from the usage app when it is installed and offers a summary; otherwise nothing."""
    if organisation is None or not apps.is_installed("billing.usage"):
        return ""
    try:
        from billing.usage import selectors as usage_selectors  # noqa: PLC0415 (optional app)

        summary = usage_selectors.organisation_usage_summary(organisation)
    except (ImportError, AttributeError, TypeError, ValueError):
        return ""
    if isinstance(summary, str):
        return summary
    try:
        return "\n".join(f"{row['meter']}: {row['value']} ({row.get('period', '')})" for row in summary)
    except (TypeError, KeyError):
        return ""


def prefill(case: DisputeCase) -> dict[str, str]:
    """A first draft of every text field the portal can speak to; a person reviews it before submitting."""
    charge = Charge.objects.filter(id=case.charge_id).values_list("stripe_data", flat=True).first() or {}
    customer = Customer.objects.filter(id=case.customer_id).values_list("stripe_data", flat=True).first() or {}
    organisation = case.organisation
    draft: dict[str, str] = {
        "customer_name": (organisation.name if organisation else customer.get("name")) or "",
        "customer_email_address": customer.get("email") or (organisation.billing_email if organisation else ""),
        "billing_address": _address(customer),
    }
    review_ip = (
        ReviewCase.objects.filter(charge_id=case.charge_id)
        .exclude(ip_address="")
        .values_list("ip_address", flat=True)
        .first()
    )
    if review_ip:
        draft["customer_purchase_ip"] = review_ip
    invoice = invoice_of(charge)
    lines = ((invoice.stripe_data.get("lines") or {}).get("data") or []) if invoice else []
    if lines:
        period = lines[0].get("period") or {}
        draft["service_date"] = f"{_date(period.get('start'))} to {_date(period.get('end'))}".strip()
        items = "; ".join(line.get("description") or "" for line in lines if line.get("description"))
        draft["product_description"] = (
            f"Online team software delivered as a subscription (no physical goods): {items}. "
            f"Invoice {invoice.stripe_data.get('number') or invoice.id} of "
            f"{_date(invoice.stripe_data.get('created'))}, paid by the charge in dispute."
        )[:FIELD_LIMIT]
    activity = []
    if organisation is not None:
        members = organisation.memberships.count()
        activity.append(
            f"Organisation {organisation.name} signed up on {organisation.created_at:%Y-%m-%d} and has {members} "
            f"member{'s' if members != 1 else ''} with access."
        )
        usage = usage_summary(organisation)
        if usage:
            activity += ["Usage:", usage]
        # What the customer's people (and Stripe's events for them) did, not our own finance team's work.
        entries = (
            AuditLog.objects.filter(organisation=organisation)
            .exclude(action__startswith="risk.")
            .exclude(actor__staff_profile__isnull=False)
            .order_by("-created_at")[:50]
        )
        activity += [
            f"{e.created_at:%Y-%m-%d %H:%M} UTC  {e.action}  by {e.actor_username or 'the system'}" for e in entries
        ]
    if len(activity) > 1:
        draft["access_activity_log"] = "\n".join(activity)[:FIELD_LIMIT]
    sent = Invoice.objects.filter(customer_id=case.customer_id, livemode__isnull=False).order_by("-created")[:12]
    invoices = [
        f"{i.stripe_data.get('number') or i.id}  {_date(i.stripe_data.get('created'))}  "
        f"{format_money(i.stripe_data.get('total') or 0, i.stripe_data.get('currency') or 'usd')}  "
        f"{i.stripe_data.get('status')}"
        for i in sent
    ]
    if invoices:
        email = draft["customer_email_address"]
        draft["uncategorized_text"] = (
            f"Invoices issued to {case.organisation.name if organisation else 'the customer'}"
            f"{f' and emailed to {email}' if email else ''}, newest first:\n" + "\n".join(invoices)
        )[:FIELD_LIMIT]
    if case.reason == "subscription_canceled" and organisation is not None:
        charged = _date(charge.get("created"))
        cancels = AuditLog.objects.filter(
            organisation=organisation, action__startswith="subscription.cancel", created_at__lte=case.created_at
        ).order_by("created_at")
        if cancels:
            draft["cancellation_rebuttal"] = "Cancellations recorded before the charge of {}: {}.".format(
                charged, "; ".join(f"{c.created_at:%Y-%m-%d} ({c.action})" for c in cancels[:10])
            )
        else:
            draft["cancellation_rebuttal"] = (
                f"No cancellation was requested through the billing portal or recorded by our team before the "
                f"charge of {charged}; the organisation kept access for the period it paid for."
            )
    return {k: v for k, v in draft.items() if v}
