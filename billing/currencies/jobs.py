"""The launch job: Celery tasks (or `manage.py currency_launch run`) creating a launch's Stripe
prices in chunks — or archiving them when it is rolled back — each exactly once.

- Rows are claimed in chunks under a lease (`lease_until`, `lease_owner`), so several tasks share
  a launch and a row a dead worker held is taken up again once its lease runs out.
- Every price is created with the row's idempotency key and lookup key. A row claimed before
  (its worker died after Stripe answered, before we wrote the answer down) is first looked up by its
  lookup key: the price is adopted, not made twice, even after Stripe forgot the idempotency key.
- When Stripe stops answering (the gateway has retried), the launch pauses: the rest of the chunk
  is released, `paused_until` says when it tries again (doubling, at most 10 minutes), and one task
  per chain is sent for then. The beat sweep restarts launches whose tasks were lost.
- Requests go through the gateway's shared rate limiter like every other call to Stripe.
- When no row is left, the launch goes live (or fails, naming the rows Stripe refused), once.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.audit import audit
from billing.catalog.models import SelfServeOffer
from billing.currencies.launches import WORK_TASK, kick
from billing.currencies.models import CountryCurrency, Launch, LaunchRow, LaunchStatus, RowState
from billing.stripe import mirror, queue
from billing.stripe.errors import StripeGatewayError, StripeUnavailable
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)
STALLED_AFTER = dt.timedelta(minutes=2)
MAX_PAUSE_SECONDS = 600
ACTIVE = (LaunchStatus.running, LaunchStatus.rolling_back)


def _todo_state(launch: Launch) -> str:
    return RowState.pending if launch.status == LaunchStatus.running else RowState.created


def claim(launch: Launch, owner: str, size: int) -> list[LaunchRow]:
    """Up to `size` rows for `owner`: not done, and free or with a lease run out. The UPDATE re-checks
    the lease, so two claimers never both get a row."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    todo = LaunchRow.objects.filter(launch=launch, state=_todo_state(launch)).filter(free)
    ids = list(todo.order_by("id").values_list("id", flat=True)[:size])
    if not ids:
        return []
    LaunchRow.objects.filter(id__in=ids).filter(free).update(
        lease_until=now + LEASE, lease_owner=owner, attempts=F("attempts") + 1
    )
    return list(LaunchRow.objects.filter(id__in=ids, lease_owner=owner, lease_until__gt=now).order_by("id"))


def work(launch_id: int, *, owner: str | None = None, size: int | None = None, on_row: Callable | None = None) -> str:
    """Process one chunk. Returns "more" (send another), "paused", or "done"/"idle" (nothing to do)."""
    owner = owner or uuid.uuid4().hex
    launch = Launch.objects.filter(pk=launch_id).first()
    if launch is None or launch.status not in ACTIVE:
        return "idle"
    if launch.paused_until and launch.paused_until > timezone.now():
        return "paused"  # a task is due when the pause ends
    rows = claim(launch, owner, size or settings.CURRENCY_LAUNCH_CHUNK_SIZE)
    if not rows:
        finish(launch.pk)
        return "done"
    for index, row in enumerate(rows):
        try:
            if launch.status == LaunchStatus.running:
                create_price(launch, row)
            else:
                archive_price(launch, row)
        except StripeUnavailable as error:
            LaunchRow.objects.filter(id__in=[r.id for r in rows[index:]], lease_owner=owner).update(
                lease_until=None, lease_owner=""
            )
            pause(launch, error.message)
            return "paused"
        except StripeGatewayError as error:
            LaunchRow.objects.filter(pk=row.pk).update(
                state=RowState.failed, error=error.message[:2000], lease_until=None, lease_owner=""
            )
            log.warning("currency launch %s: %s refused: %s", launch.pk, row.lookup_key, error.message)
        if on_row:
            on_row(row)
        if index % 10 == 9:  # still at it: keep the rest of the chunk
            LaunchRow.objects.filter(id__in=[r.id for r in rows[index + 1 :]], lease_owner=owner).update(
                lease_until=timezone.now() + LEASE
            )
    Launch.objects.filter(pk=launch.pk).update(
        heartbeat_at=timezone.now(), paused_until=None, pause_count=0, last_error=""
    )
    return "more"


def create_price(launch: Launch, row: LaunchRow) -> None:
    client = gateway()
    price = _already_created(launch, row) if row.attempts > 1 else None
    if price is None:
        params: dict = {
            "product": row.product_id,
            "currency": launch.currency,
            "unit_amount": row.amount,
            "recurring": {"interval": row.interval, "interval_count": row.interval_count},
            "lookup_key": row.lookup_key,
            "nickname": row.nickname,
            "metadata": {"currency_launch": str(launch.pk), "source_price": row.source_price_id},
        }
        if row.tax_behavior and row.tax_behavior != "unspecified":
            params["tax_behavior"] = row.tax_behavior
        if row.transfer_lookup_key:
            params["transfer_lookup_key"] = True
        price = client.post(
            "/v1/prices", params, idempotency_key=key_for("currency_launch.price", row, row.retry_round)
        )
    with transaction.atomic():
        mirror.apply_object(price)
        LaunchRow.objects.filter(pk=row.pk).update(
            state=RowState.created,
            stripe_price_id=price["id"],
            error="",
            lease_until=None,
            lease_owner="",
            done_at=timezone.now(),
        )


def _already_created(launch: Launch, row: LaunchRow) -> dict | None:
    """The price an earlier attempt of this row made, if Stripe has it (by lookup key and our metadata)."""
    page = gateway().get("/v1/prices", lookup_keys=[row.lookup_key], limit=10)
    for price in page.get("data", []):
        meta = price.get("metadata") or {}
        if meta.get("currency_launch") == str(launch.pk) and meta.get("source_price") == row.source_price_id:
            return price
    return None


def archive_price(launch: Launch, row: LaunchRow) -> None:
    price = gateway().post(
        f"/v1/prices/{row.stripe_price_id}",
        {"active": False},
        idempotency_key=key_for("currency_launch.archive", row),
    )
    with transaction.atomic():
        mirror.apply_object(price)
        LaunchRow.objects.filter(pk=row.pk).update(
            state=RowState.archived, lease_until=None, lease_owner="", done_at=timezone.now()
        )


def pause(launch: Launch, message: str) -> float:
    """Stripe is not answering: wait, then try again (the caller sends the task for then)."""
    with transaction.atomic():
        current = Launch.objects.select_for_update().get(pk=launch.pk)
        delay = min(MAX_PAUSE_SECONDS, settings.CURRENCY_LAUNCH_PAUSE_SECONDS * 2 ** min(current.pause_count, 10))
        current.paused_until = timezone.now() + dt.timedelta(seconds=delay)
        current.pause_count += 1
        current.last_error = message[:2000]
        current.heartbeat_at = timezone.now()
        current.save(update_fields=["paused_until", "pause_count", "last_error", "heartbeat_at"])
    log.warning("currency launch %s paused for %ss: %s", launch.pk, delay, message)
    return delay


def finish(launch_id: int) -> str | None:
    """Nothing left to claim: when no row is still in hand either, the launch ends (once)."""
    with transaction.atomic():
        launch = Launch.objects.select_for_update().get(pk=launch_id)
        if launch.status not in ACTIVE or launch.rows.filter(state=_todo_state(launch)).exists():
            return None
        now = timezone.now()
        if launch.status == LaunchStatus.rolling_back:
            launch.status, launch.rollback_finished_at = LaunchStatus.rolled_back, now
            launch.save(update_fields=["status", "rollback_finished_at"])
            audit(launch.rolled_back_by, "currency_launch.rolled_back", launch, archived=launch.rows.count())
            return launch.status
        failed = list(launch.rows.filter(state=RowState.failed).values_list("lookup_key", "error")[:5])
        if failed:
            count = launch.rows.filter(state=RowState.failed).count()
            launch.status, launch.finished_at = LaunchStatus.failed, now
            launch.last_error = f"Stripe refused {count} price{'s' if count != 1 else ''}: " + "; ".join(
                f"{key}: {error}" for key, error in failed
            )
            launch.save(update_fields=["status", "finished_at", "last_error"])
            audit(launch.started_by, "currency_launch.failed", launch, failed=count)
            return launch.status
        go_live(launch, now)
        return launch.status


def go_live(launch: Launch, now: dt.datetime) -> None:
    """The countries switch to the currency (with their local methods); self-serve offers the new
    prices where it offered their source prices, in the same order. Existing organisations keep
    theirs. Runs inside `finish`'s transaction, holding the launch's lock."""
    previous = {}
    for country in launch.countries:
        current = CountryCurrency.objects.select_for_update().filter(country=country).first()
        previous[country] = (
            {"currency": current.currency, "payment_methods": current.payment_methods} if current else None
        )
        methods = launch.methods.get(country, [])
        CountryCurrency.objects.update_or_create(
            country=country, defaults={"currency": launch.currency, "payment_methods": methods, "updated_at": now}
        )
    offered = 0
    for row in launch.rows.filter(state=RowState.created).exclude(offer_position=None):
        _, made = SelfServeOffer.objects.get_or_create(
            price_id=row.stripe_price_id,
            defaults={
                "position": row.offer_position,
                "max_quantity": row.offer_max_quantity,
                "created_by": launch.started_by,
            },
        )
        offered += made
    launch.status, launch.finished_at, launch.went_live_at = LaunchStatus.live, now, now
    launch.previous_mapping, launch.last_error, launch.paused_until = previous, "", None
    launch.save(
        update_fields=["status", "finished_at", "went_live_at", "previous_mapping", "last_error", "paused_until"]
    )
    audit(
        launch.started_by,
        "currency_launch.live",
        launch,
        prices=launch.rows.filter(state=RowState.created).count(),
        offers=offered,
        countries=launch.countries,
        methods=launch.methods,
        previous=previous,
    )


def run_task(launch_id: int) -> str:
    """What one Celery task does: a chunk, then hand over to the next task (or wait out a pause)."""
    result = work(launch_id)
    if result == "more":
        queue.send(WORK_TASK, launch_id)
    elif result == "paused":
        launch = Launch.objects.get(pk=launch_id)
        wait = max(1.0, (launch.paused_until - timezone.now()).total_seconds()) if launch.paused_until else 1.0
        queue.send(WORK_TASK, launch_id, countdown=wait)
    return result


def resume_stalled(*, stalled_after: dt.timedelta = STALLED_AFTER) -> list[int]:
    """Beat: launches whose tasks died with their worker (no heartbeat, no pause pending, no lease
    alive) get their tasks again. Extra tasks are harmless: they find nothing to claim and stop."""
    now = timezone.now()
    resumed = []
    for launch in Launch.objects.filter(status__in=ACTIVE):
        if launch.paused_until and launch.paused_until > now - dt.timedelta(seconds=30):
            continue
        if launch.heartbeat_at and launch.heartbeat_at > now - stalled_after:
            continue
        if launch.rows.filter(lease_until__gt=now).exists():
            continue
        Launch.objects.filter(pk=launch.pk).update(heartbeat_at=now)
        kick(launch.pk)
        resumed.append(launch.pk)
    return resumed


def run_here(launch_id: int, *, on_row: Callable | None = None, sleep: Callable[[float], None] | None = None) -> str:
    """The whole job in this process (the command line): chunk after chunk, waiting out pauses,
    until the launch is live, failed or rolled back. Workers may share the work meanwhile."""
    import time

    sleep = sleep or time.sleep
    owner = f"cli-{uuid.uuid4().hex[:12]}"
    while True:
        result = work(launch_id, owner=owner, on_row=on_row)
        launch = Launch.objects.get(pk=launch_id)
        if launch.status not in ACTIVE:
            return launch.status
        if result == "paused":
            sleep(max(0.5, (launch.paused_until - timezone.now()).total_seconds()) if launch.paused_until else 1)
        elif result == "done":
            sleep(0.5)  # rows still in another worker's hands: wait for them
