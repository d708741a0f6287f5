"""The product's side of dunning: an organisation whose case ended unpaid is restricted until paid.

Listens to the documented signals (signals.py); the restriction is a row the product reads
(`is_restricted`), shown on the dunning pages.
"""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from billing.dunning.models import Restriction
from billing.dunning.signals import dunning_exhausted, dunning_recovered


@receiver(dunning_exhausted, dispatch_uid="billing.dunning.entitlements.restrict")
def restrict(sender, *, case, organisation, **kwargs) -> None:
    if organisation is not None:
        Restriction.objects.get_or_create(case=case, defaults={"organisation": organisation})


@receiver(dunning_recovered, dispatch_uid="billing.dunning.entitlements.lift")
def lift(sender, *, case, **kwargs) -> None:
    Restriction.objects.filter(case=case, lifted_at__isnull=True).update(lifted_at=timezone.now())


def is_restricted(organisation) -> bool:
    return Restriction.objects.filter(organisation=organisation, lifted_at__isnull=True).exists()
