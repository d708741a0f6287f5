"""Named reads on dj-stripe's models, so pages ask `Subscription.mirror.live()` instead of reading
JSON keys in views.

Attached as a second manager, `mirror`, in `BillingStripeConfig.ready()` (dj-stripe's own
`objects` stays as it is). Every method filters on the columns and expression indexes of
`migrations/0002_mirror_indexes.py` and leaves stubs (rows known only by id, `livemode` NULL) out
where a page would otherwise show an empty row.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Prefetch, Q

LIVE_SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due")
BILLED_SUBSCRIPTION_STATUSES = ("active", "past_due")


class MirrorQuerySet(models.QuerySet):
    def real(self):
        """Rows filled from a Stripe object (not stubs that only name an id)."""
        return self.filter(livemode__isnull=False)

    def for_customer(self, customer_id: str | None):
        if not customer_id:
            return self.none()
        return self.filter(customer_id=customer_id)

    def newest_first(self):
        return self.order_by("-created", "-djstripe_id")


class CustomerQuerySet(MirrorQuerySet):
    def search(self, query: str):
        """Name, email, `cus_` id or organisation name; an empty query matches every customer."""
        query = query.strip()
        if not query:
            return self
        if query.startswith("cus_"):
            return self.filter(id=query)
        return self.filter(
            Q(email__icontains=query) | Q(stripe_data__name__icontains=query) | Q(organisation__name__icontains=query)
        )

    def in_country(self, country: str):
        return self.filter(stripe_data__address__country=country.upper()) if country else self

    def with_subscriptions(self):
        from djstripe.models import Subscription

        return self.prefetch_related(
            Prefetch("subscriptions", queryset=Subscription.objects.order_by("-created"), to_attr="subscription_list")
        )


class SubscriptionQuerySet(MirrorQuerySet):
    def with_status(self, *statuses: str):
        return self.filter(stripe_data__status__in=list(statuses))

    def live(self):
        """Active, trialing or past due: what a customer still has."""
        return self.with_status(*LIVE_SUBSCRIPTION_STATUSES)

    def billed(self):
        """Active or past due: what counts toward recurring revenue (trials do not)."""
        return self.with_status(*BILLED_SUBSCRIPTION_STATUSES)

    def ending(self):
        return self.filter(stripe_data__cancel_at_period_end=True)


class InvoiceQuerySet(MirrorQuerySet):
    def with_status(self, *statuses: str):
        return self.filter(stripe_data__status__in=list(statuses))

    def open(self):
        return self.with_status("open")

    def paid(self):
        return self.with_status("paid")

    def past_due(self, now: int | None = None):
        """Open invoices whose due date (or, when charged automatically, a failed attempt) has passed."""
        import time

        now = now or int(time.time())
        return self.open().filter(Q(stripe_data__due_date__lt=now) | Q(stripe_data__attempt_count__gt=0))

    def in_currency(self, currency: str):
        return self.filter(stripe_data__currency=currency.lower())


class PaymentMethodQuerySet(MirrorQuerySet):
    def of_type(self, kind: str):
        return self.filter(stripe_data__type=kind)


class ChargeQuerySet(MirrorQuerySet):
    def with_status(self, *statuses: str):
        return self.filter(stripe_data__status__in=list(statuses))


MIRROR_QUERYSETS = {
    "Customer": CustomerQuerySet,
    "Subscription": SubscriptionQuerySet,
    "Invoice": InvoiceQuerySet,
    "PaymentMethod": PaymentMethodQuerySet,
    "Charge": ChargeQuerySet,
}


def attach_mirror_managers() -> None:
    """`Model.mirror` on each dj-stripe model above (readthedocs does the same for its subscriptions)."""
    from djstripe import models as dj

    for name, queryset in MIRROR_QUERYSETS.items():
        model = getattr(dj, name)
        if hasattr(model, "mirror"):
            continue
        # A manager added to the class counts as local, so Django would make it the default manager
        # (and dj-stripe's migration state would change): keep dj-stripe's default as it was.
        default_name = model._meta.default_manager.name
        model.add_to_class("mirror", queryset.as_manager())
        model._meta.default_manager_name = default_name
        model._meta._expire_cache()
