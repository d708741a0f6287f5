"""Block lists: emails, email domains, card fingerprints and countries, kept here (each entry with its
reason, author and source) and synced to Radar value lists through the gateway, so Radar rules such as
`Block if :email_domain: in @portal_blocked_email_domains` act on charges; self-serve checks them
before it starts collecting a payment method."""

from __future__ import annotations

import logging
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_countries import countries

from accounts.audit import audit
from accounts.models import Organisation
from billing.risk.errors import PaymentMethodBlocked, RiskError
from billing.risk.models import BlockKind, BlockListEntry, RadarList, SyncStatus
from billing.stripe.errors import InvalidRequest, StripeGatewayError
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for

log = logging.getLogger(__name__)

# The Radar value list of each kind: its alias (what rules name), its name and Radar's item type.
RADAR_LISTS = {
    BlockKind.email: ("portal_blocked_emails", "Portal: blocked emails", "email"),
    BlockKind.email_domain: ("portal_blocked_email_domains", "Portal: blocked email domains", "string"),
    BlockKind.card_fingerprint: ("portal_blocked_cards", "Portal: blocked cards", "card_fingerprint"),
    BlockKind.country: ("portal_blocked_countries", "Portal: blocked countries", "country"),
}
# Domains shared by millions of people: blocking one blocks strangers, and sharing one says nothing.
WEBMAIL = {
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.ru",
    "yandex.ru",
    "qq.com",
    "163.com",
    "naver.com",
}
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}[a-z0-9]$")
FINGERPRINT = re.compile(r"^[A-Za-z0-9]{8,64}$")
CUSTOMER_MESSAGE = (
    "We can't accept a new payment method for this organisation right now. "
    "Please contact our billing team and we will sort it out with you."
)


def normalise(kind: str, value: str) -> str:
    """The value as kept and sent to Radar, or a RiskError saying what a value of this kind looks like."""
    value = "".join(ch for ch in (value or "") if ch.isprintable()).strip()
    if not value:
        raise RiskError("Enter a value to block.")
    if kind == BlockKind.email:
        try:
            validate_email(value)
        except ValidationError:
            raise RiskError(f"“{value[:80]}” is not an email address (name@example.com).") from None
        return value.lower()
    if kind == BlockKind.email_domain:
        domain = value.lower().lstrip("@")
        if "@" in domain:
            raise RiskError("Enter only the domain, the part after the @ (example.com).")
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise RiskError(f"“{value[:80]}” is not an email domain (example.com).") from None
        if not DOMAIN.match(domain):
            raise RiskError(f"“{value[:80]}” is not an email domain (example.com).")
        if domain in WEBMAIL:
            raise RiskError(f"{domain} is a public webmail domain: block the email address instead.")
        return domain
    if kind == BlockKind.card_fingerprint:
        digits = value.replace(" ", "").replace("-", "")
        if digits.isdigit() and 12 <= len(digits) <= 19:
            raise RiskError(
                "That looks like a card number. Never paste card numbers here: block a card by its Stripe "
                "fingerprint, shown on the review or payment."
            )
        if not FINGERPRINT.match(value):
            raise RiskError(
                "A card fingerprint is Stripe's code for a card (16 letters and digits, e.g. Xt5EWLLDS7FJjR1c)."
            )
        return value
    if kind == BlockKind.country:
        code = value.upper()
        if code not in dict(countries):
            by_name = {name.lower(): c for c, name in countries}
            code = by_name.get(value.lower(), "")
        if not code:
            raise RiskError(f"“{value[:80]}” is not a country: use its two-letter ISO code (e.g. KP) or name.")
        return code
    raise RiskError("Choose what to block: an email, an email domain, a card fingerprint or a country.")


def block_entry_add(
    *, kind: str, value: str, reason: str, actor, source: str = "", exist_ok: bool = False
) -> BlockListEntry:
    """Add an entry (audited) and sync it to Radar. `exist_ok`: an active entry for the value is returned."""
    value = normalise(kind, value)
    reason = (reason or "").strip()
    if not reason:
        raise RiskError("Say why: the reason is kept with the entry and in the audit log.")
    existing = BlockListEntry.objects.filter(kind=kind, value=value, removed_at__isnull=True).first()
    if existing is not None:
        if exist_ok:
            return existing
        raise RiskError(
            f"{value} is already blocked (since {existing.created_at:%Y-%m-%d}, by "
            f"{existing.created_by or 'the portal'})."
        )
    try:
        with transaction.atomic():
            entry = BlockListEntry.objects.create(
                kind=kind, value=value, reason=reason[:2000], source=source[:255], created_by=actor
            )
            audit(actor, "risk.block.add", entry, kind=kind, value=value, reason=reason, source=source)
    except IntegrityError:  # the same value added at the same moment by someone else
        entry = BlockListEntry.objects.get(kind=kind, value=value, removed_at__isnull=True)
        if not exist_ok:
            raise RiskError(f"{value} is already blocked.") from None
        return entry
    return block_entry_sync(entry)


def block_entry_remove(*, entry: BlockListEntry, actor, reason: str) -> BlockListEntry:
    reason = (reason or "").strip()
    if not reason:
        raise RiskError("Say why the entry is removed: it is kept in the audit log.")
    with transaction.atomic():
        updated = BlockListEntry.objects.filter(pk=entry.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(), removed_by=actor, sync_status=SyncStatus.pending
        )
        if not updated:
            raise RiskError("This entry was already removed.")
        audit(actor, "risk.block.remove", entry, kind=entry.kind, value=entry.value, reason=reason)
    entry.refresh_from_db()
    return block_entry_sync(entry)


def _radar_list(kind: str) -> RadarList:
    alias, name, item_type = RADAR_LISTS[kind]
    row, _ = RadarList.objects.get_or_create(kind=kind, defaults={"alias": alias})
    if row.stripe_id:
        return row
    client = gateway()
    found = next(iter(client.get("/v1/radar/value_lists", alias=row.alias).get("data") or []), None)
    if found is None:
        found = client.post(
            "/v1/radar/value_lists",
            {"alias": row.alias, "name": name, "item_type": item_type},
            idempotency_key=key_for("radar.value_list.create", row),
        )
    RadarList.objects.filter(pk=row.pk).update(stripe_id=found["id"])
    row.stripe_id = found["id"]
    return row


def block_entry_sync(entry: BlockListEntry) -> BlockListEntry:
    """Make Radar hold what the entry says (item added, or deleted once removed). Safe to repeat; a
    failure is kept on the entry and retried by the beat sweep."""
    client = gateway()
    try:
        if entry.removed_at is None and not entry.stripe_item_id:
            radar = _radar_list(entry.kind)
            try:
                item = client.post(
                    "/v1/radar/value_list_items",
                    {"value_list": radar.stripe_id, "value": entry.value},
                    idempotency_key=key_for("radar.item.create", entry),
                )
            except InvalidRequest as error:
                if error.code != "resource_already_exists":
                    raise
                listed = client.get("/v1/radar/value_list_items", value_list=radar.stripe_id, value=entry.value)
                item = (listed.get("data") or [None])[0]
                if item is None:
                    raise
            entry.stripe_item_id, entry.sync_status = item["id"], SyncStatus.synced
        elif entry.removed_at is not None:
            if entry.stripe_item_id:
                try:
                    client.delete(
                        f"/v1/radar/value_list_items/{entry.stripe_item_id}",
                        idempotency_key=key_for("radar.item.delete", entry),
                    )
                except InvalidRequest as error:
                    if error.http_status != 404:
                        raise
            entry.sync_status = SyncStatus.removed
        else:
            entry.sync_status = SyncStatus.synced
        entry.sync_error, entry.synced_at = "", timezone.now()
    except StripeGatewayError as error:
        log.warning("block list entry %s: Radar sync failed (%s)", entry.pk, type(error).__name__)
        entry.sync_status, entry.sync_error = SyncStatus.failed, error.message[:2000]
    BlockListEntry.objects.filter(pk=entry.pk).update(
        stripe_item_id=entry.stripe_item_id,
        sync_status=entry.sync_status,
        sync_error=entry.sync_error,
        synced_at=entry.synced_at,
    )
    return entry


def blocklist_sync_pending(*, limit: int = 200) -> int:
    """Beat: retry entries whose sync is pending or failed, a bounded batch per run."""
    due = BlockListEntry.objects.filter(sync_status__in=[SyncStatus.pending, SyncStatus.failed]).order_by("pk")
    done = 0
    for entry in due[:limit]:
        block_entry_sync(entry)
        done += 1
    return done


def matching_entry(*, emails: set[str], country: str) -> BlockListEntry | None:
    emails = {e.strip().lower() for e in emails if e and "@" in e}
    domains = {e.rpartition("@")[2] for e in emails}
    condition = Q(kind=BlockKind.email, value__in=emails) | Q(kind=BlockKind.email_domain, value__in=domains)
    if country:
        condition |= Q(kind=BlockKind.country, value=country.upper())
    return BlockListEntry.objects.filter(removed_at__isnull=True).filter(condition).order_by("pk").first()


def check_setup_allowed(*, organisation: Organisation, actor=None) -> None:
    """Raise PaymentMethodBlocked when the organisation (its billing email, its customer's email, its
    country) or the person acting matches an active entry; the hit is counted and audited."""
    from djstripe.models import Customer

    emails = {organisation.billing_email or ""}
    if organisation.stripe_customer_id:
        emails.add(
            Customer.objects.filter(id=organisation.stripe_customer_id).values_list("email", flat=True).first() or ""
        )
    if getattr(actor, "is_authenticated", False):
        emails.add(actor.email or "")
    entry = matching_entry(emails=emails, country=organisation.country.code if organisation.country else "")
    if entry is None:
        return
    BlockListEntry.objects.filter(pk=entry.pk).update(hits=F("hits") + 1, last_hit_at=timezone.now())
    audit(actor, "risk.block.hit", entry, organisation=organisation, kind=entry.kind, value=entry.value)
    raise PaymentMethodBlocked(CUSTOMER_MESSAGE)
