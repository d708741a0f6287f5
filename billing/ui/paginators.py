"""Pagination that stays fast at a million rows: counts stop at a cap, a page past the end is the last."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 1_000


class CappedPaginator(Paginator):
    """`count` is exact up to COUNT_CAP, then COUNT_CAP + 1 (shown as "more than 1,000"): an exact
    count of a big filtered table costs more than the page itself (Stripe's Dashboard shows none)."""

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP
