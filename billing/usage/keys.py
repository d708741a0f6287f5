"""Per-organisation API keys for the ingestion API: `usk_` and 43 random characters, shown once.

Only the SHA-256 of a key is stored (with its first characters, to recognise it in a list): the
key has 256 random bits, so a slow password hash would add nothing but latency to every batch.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit
from accounts.models import Organisation
from billing.usage.models import ApiKey

KEY_PREFIX = "usk_"
SHOWN_PREFIX = 12


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, organisation: Organisation, name: str, actor) -> tuple[ApiKey, str]:
    """A new key for `organisation`; returns the row and the key itself, which is never kept."""
    name = name.strip()[:100] or "API key"
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        organisation=organisation,
        name=name,
        prefix=raw[:SHOWN_PREFIX],
        digest=digest(raw),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit(actor, "usage.api_key.create", key, organisation=organisation, name=name, prefix=key.prefix)
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor) -> ApiKey:
    """Revoke a key; safe to call twice (the first revocation's time stays)."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
        key.save(update_fields=["revoked_at", "revoked_by"])
        audit(actor, "usage.api_key.revoke", key, organisation=key.organisation, prefix=key.prefix)
    return key


def authenticate(header: str) -> ApiKey | None:
    """The live key named by an `Authorization: Bearer usk_…` header, or None."""
    scheme, _, raw = header.partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw.startswith(KEY_PREFIX) or len(raw) > 100:
        return None
    wanted = digest(raw)
    key = ApiKey.objects.select_related("organisation").filter(digest=wanted, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.digest, wanted):
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)  # at most once a minute per key
    return key
