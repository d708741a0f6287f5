"""Reads for the risk pages: the queues (a fixed number of queries per page) and the product context
a reviewer decides with: who the customer is to us, not only what Radar saw."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from djstripe.models import PaymentMethod, Product, Refund, Subscription

from accounts.models import Organisation
from billing.reports.metrics import subscription_mrr
from billing.reports.models import MrrMovement, PaymentFact, PaymentKind
from billing.risk.blocklist import WEBMAIL
from billing.risk.evidence import usage_summary
from billing.risk.models import BlockKind, BlockListEntry, DisputeCase, ReviewCase, ReviewDecision, WarningCase

SHARED_LIMIT = 10


def reviews() -> QuerySet[ReviewCase]:
    return ReviewCase.objects.select_related("customer__organisation")


def warnings() -> QuerySet[WarningCase]:
    return WarningCase.objects.select_related("customer__organisation")


def disputes() -> QuerySet[DisputeCase]:
    return DisputeCase.objects.select_related("customer__organisation")


def block_entries() -> QuerySet[BlockListEntry]:
    return BlockListEntry.objects.select_related("created_by", "removed_by")


@dataclass
class Shared:
    organisations: list[Organisation]
    more: int = 0
    note: str = ""


@dataclass
class ProductContext:
    organisation: Organisation | None
    customer_id: str | None
    age_days: int | None = None
    members: int = 0
    subscriptions: list[dict] = field(default_factory=list)
    movements: list[MrrMovement] = field(default_factory=list)
    usage: str = ""
    disputes: list[DisputeCase] = field(default_factory=list)
    disputes_lost: int = 0
    refunds_count: int = 0
    refunds_by_currency: list[tuple[str, int]] = field(default_factory=list)
    payments_succeeded: int = 0
    payments_failed: int = 0
    shared_card: Shared | None = None
    shared_domain: Shared | None = None
    blocked: list[BlockListEntry] = field(default_factory=list)


def _plan_names(subscriptions: list[Subscription]) -> dict[str, str]:
    ids = set()
    for sub in subscriptions:
        for item in (sub.stripe_data.get("items") or {}).get("data") or []:
            product = (item.get("price") or {}).get("product")
            ids.add(product if isinstance(product, str) else (product or {}).get("id"))
    return dict(Product.objects.filter(id__in=ids - {None}).values_list("id", "stripe_data__name"))


def _organisations_of(customer_ids: set[str], *, exclude: str | None) -> Shared:
    customer_ids.discard(exclude)
    customer_ids.discard(None)
    found = list(Organisation.objects.filter(stripe_customer_id__in=customer_ids).order_by("name")[: SHARED_LIMIT + 1])
    return Shared(found[:SHARED_LIMIT], more=max(0, len(customer_ids) - SHARED_LIMIT))


def product_context(
    *, customer_id: str | None, organisation: Organisation | None, card_fingerprint: str = "", email_domain: str = ""
) -> ProductContext:
    """Everything the portal knows about the payer, in a fixed number of queries."""
    context = ProductContext(organisation=organisation, customer_id=customer_id)
    now = timezone.now()
    if organisation is not None:
        context.age_days = (now - organisation.created_at).days
        context.members = organisation.memberships.count()
        context.usage = usage_summary(organisation)
    if customer_id:
        subs = list(Subscription.mirror.real().for_customer(customer_id).order_by("-created")[:5])
        names = _plan_names(subs)
        for sub in subs:
            items = (sub.stripe_data.get("items") or {}).get("data") or []
            product = ((items[0].get("price") or {}).get("product")) if items else None
            product_id = product if isinstance(product, str) else (product or {}).get("id")
            context.subscriptions.append(
                {
                    "id": sub.id,
                    "plan": names.get(product_id) or product_id or "—",
                    "seats": sum(i.get("quantity") or 0 for i in items),
                    "status": sub.stripe_data.get("status"),
                    "mrr": subscription_mrr(sub),
                    "currency": sub.stripe_data.get("currency"),
                    "since": sub.created,
                }
            )
        context.movements = list(
            MrrMovement.objects.filter(customer_id=customer_id, effective_at__gte=now - dt.timedelta(days=180))[:8]
        )
        context.disputes = list(DisputeCase.objects.filter(customer_id=customer_id).order_by("-created_at")[:6])
        context.disputes_lost = sum(1 for d in context.disputes if d.status == "lost")
        refunds = (
            Refund.objects.filter(charge__customer_id=customer_id, livemode__isnull=False)
            .values("currency")
            .annotate(total=Sum("amount"), n=Count("pk"))
        )
        context.refunds_by_currency = [(r["currency"] or "", r["total"] or 0) for r in refunds]
        context.refunds_count = sum(r["n"] for r in refunds)
        facts = dict(
            PaymentFact.objects.filter(customer_id=customer_id, occurred_at__gte=now - dt.timedelta(days=365))
            .values("kind")
            .annotate(n=Count("pk"))
            .values_list("kind", "n")
        )
        context.payments_succeeded = facts.get(PaymentKind.succeeded, 0)
        context.payments_failed = facts.get(PaymentKind.failed, 0)
    if card_fingerprint:
        holders = set(
            PaymentMethod.objects.filter(stripe_data__card__fingerprint=card_fingerprint)
            .exclude(customer_id=None)
            .values_list("customer_id", flat=True)[:200]
        )
        holders |= set(
            ReviewCase.objects.filter(card_fingerprint=card_fingerprint).values_list("customer_id", flat=True)[:200]
        )
        context.shared_card = _organisations_of(holders, exclude=customer_id)
    if email_domain:
        if email_domain in WEBMAIL:
            context.shared_domain = Shared([], note=f"{email_domain} is public webmail: sharing it says nothing")
        else:
            same = Organisation.objects.filter(billing_email__iendswith=f"@{email_domain}")
            if organisation is not None:
                same = same.exclude(pk=organisation.pk)
            found = list(same.order_by("name")[: SHARED_LIMIT + 1])
            context.shared_domain = Shared(
                found[:SHARED_LIMIT], more=len(found) - SHARED_LIMIT if len(found) > SHARED_LIMIT else 0
            )
    return context


def blocked_matching(case: ReviewCase) -> list[BlockListEntry]:
    pairs = [
        (BlockKind.card_fingerprint, case.card_fingerprint),
        (BlockKind.email, case.email),
        (BlockKind.email_domain, case.email_domain),
        (BlockKind.country, case.card_country),
        (BlockKind.country, case.customer_country),
        (BlockKind.country, case.ip_country),
    ]
    from django.db.models import Q

    condition = Q(pk__in=[])
    for kind, value in pairs:
        if value:
            condition |= Q(kind=kind, value=value)
    return list(BlockListEntry.objects.filter(removed_at__isnull=True).filter(condition))


def review_detail(review_id: str) -> dict:
    case = reviews().get(pk=review_id)
    context = product_context(
        customer_id=case.customer_id,
        organisation=case.organisation,
        card_fingerprint=case.card_fingerprint,
        email_domain=case.email_domain,
    )
    context.blocked = blocked_matching(case)
    return {
        "case": case,
        "context": context,
        "decisions": list(ReviewDecision.objects.filter(review=case).select_related("actor")[:20]),
        "warnings": list(WarningCase.objects.filter(charge_id=case.charge_id)) if case.charge_id else [],
        "dispute": DisputeCase.objects.filter(charge_id=case.charge_id).first() if case.charge_id else None,
    }
