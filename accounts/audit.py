from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import AuditLog, Organisation


def audit(
    actor,
    action: str,
    obj: models.Model | None = None,
    *,
    object_type: str = "",
    object_id: str = "",
    organisation: Organisation | None = None,
    **data: Any,
) -> AuditLog:
    """Write one audit entry. `obj` may be any model row; its type and id are recorded."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "id", obj.pk))
        if organisation is None and isinstance(obj, Organisation):
            organisation = obj
    person = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        actor=person,
        actor_username=person.get_username() if person else "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        organisation=organisation,
        data=data,
    )
