"""Writes Django sends no signal for, made visible: `QuerySet.update()` on the models that use it."""

from __future__ import annotations

from django.db import models
from django.dispatch import Signal

# Sent after `update()` on a queryset of a model whose manager is `UpdateSignallingQuerySet.as_manager()`
# (sender=the model class), as post_save is after `save()`: for caches of pages that read the table
# (billing.ui.listcache).
rows_updated = Signal()


class UpdateSignallingQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        count = super().update(**kwargs)
        rows_updated.send(sender=self.model)
        return count
