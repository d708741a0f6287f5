"""Idempotency keys derived from our own rows: the same intent always sends the same key."""

from __future__ import annotations

from django.db.models import Model


def key_for(action: str, obj: Model | str, *parts: object) -> str:
    """`key_for("customer.create", org)` -> `portal:customer.create:accounts.organisation:42`.

    Add `parts` for anything that makes a second intent on the same row distinct (a version,
    an attempt number): Stripe replays the first answer for a repeated key for 24 hours.
    """
    if isinstance(obj, Model):
        ref = f"{obj._meta.label_lower}:{obj.pk}"
    else:
        ref = str(obj)
    suffix = "".join(f":{part}" for part in parts)
    return f"portal:{action}:{ref}{suffix}"[:255]
