"""Fair billing for active seats: a member billed for a period who goes inactive during it is
credited the unused part of the seat, prorated to the second and rounded half up to the minor unit
of the period's currency; a member who comes back in the same period is charged for the rest of it.

A member is inactive from `inactive_after_days` after their last activity. The credit is a Stripe
customer balance transaction (it lowers the organisation's next invoice), with the member and the
reason in its description and metadata.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.stripe.errors import StripeGatewayError, StripeUnavailable
from billing.stripe.gateway import gateway
from billing.stripe.idempotency import key_for
from billing.usage import periods
from billing.usage.models import Aggregation, ReportStatus, SeatActivity, SeatCredit, UsagePeriod


def prorate(unit_amount: int, part_seconds: int, period_seconds: int) -> int:
    """unit_amount × part / period, rounded half up, in integers (no float ever touches money)."""
    return (2 * unit_amount * part_seconds + period_seconds) // (2 * period_seconds)


def _day(when: dt.datetime) -> str:
    return f"{when:%-d %b %Y}"


def active_intervals(membership_id: int, period: UsagePeriod) -> list[tuple[dt.datetime, dt.datetime]]:
    """When the member was an active seat within the period: each activity keeps them active for
    `inactive_after_days`; overlapping spans merge."""
    grace = dt.timedelta(days=period.meter.inactive_after_days)
    spans: list[list[dt.datetime]] = []
    activity = SeatActivity.objects.filter(
        membership_id=membership_id, first_seen__lt=period.end, last_seen__gte=period.start - grace
    ).order_by("first_seen")
    for first, last in activity.values_list("first_seen", "last_seen"):
        lo, hi = max(first, period.start), min(last + grace, period.end)
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hi)
        elif lo < hi:
            spans.append([lo, hi])
    return [(lo, hi) for lo, hi in spans]


def credits_compute(period: UsagePeriod, *, now: dt.datetime) -> list[SeatCredit]:
    """The credits (and reactivation charges) the period owes by `now`, each made once.

    A full seat is billed for every member active in the period; from the moment one goes inactive
    the rest of the period comes back as a credit (and, if they come back in the same period, the
    rest from then is charged again)."""
    meter = period.meter
    if meter.aggregation != Aggregation.active_seats or period.unit_amount is None:
        return []
    length = int((period.end - period.start).total_seconds())
    made = []
    for seat in periods.seats(period, meter, period.start, period.end):
        spans = active_intervals(seat.membership_id, period)
        if not spans:
            continue
        wanted = []
        for n, (_, ended) in enumerate(spans):
            if ended >= period.end or ended > now:
                continue
            wanted.append(
                (
                    SeatCredit.Kind.credit,
                    ended,
                    period.end,
                    f"Inactive from {_day(ended)} (no activity for {meter.inactive_after_days} days): "
                    "the rest of the period credited",
                )
            )
            if n + 1 < len(spans) and spans[n + 1][0] <= now:
                back = spans[n + 1][0]
                wanted.append(
                    (
                        SeatCredit.Kind.reactivation,
                        back,
                        period.end,
                        f"Active again from {_day(back)}: the rest of the period charged",
                    )
                )
        grace = dt.timedelta(days=meter.inactive_after_days)
        for kind, lo, hi, reason in wanted:
            # The activity it hangs on: the last one before going inactive, or the one coming back.
            seen = lo - grace if kind == SeatCredit.Kind.credit else lo
            credit = _make(period, seat, kind, seen, lo, int((hi - lo).total_seconds()), length, reason)
            if credit:
                made.append(credit)
    return made


def _make(period, seat, kind, last, inactive_from, part, length, reason) -> SeatCredit | None:
    try:
        with transaction.atomic():
            return SeatCredit.objects.create(
                period=period,
                kind=kind,
                membership_id=seat.membership_id,
                member_email=seat.email,
                last_active_at=last,
                inactive_from=inactive_from,
                unused_seconds=part,
                period_seconds=length,
                amount=prorate(period.unit_amount, part, length),
                currency=period.currency,
                reason=reason[:300],
            )
    except IntegrityError:
        return None  # made by an earlier run


def credit_send(credit: SeatCredit) -> SeatCredit:
    """The balance transaction for one credit or charge; safe to call twice (keyed by the row)."""
    if credit.status != ReportStatus.pending or credit.amount == 0:
        return credit
    period = credit.period
    try:
        txn = gateway().post(
            f"/v1/customers/{period.customer_id}/balance_transactions",
            {
                "amount": credit.signed_amount,
                "currency": credit.currency,
                "description": f"Fair billing, {credit.member_email}: {credit.reason}"[:350],
                "metadata": {
                    "portal_seat_credit": str(credit.pk),
                    "member": credit.member_email,
                    "meter": period.meter.key,
                    "period_start": str(int(period.start.timestamp())),
                },
            },
            idempotency_key=key_for("usage.seat_credit", credit),
        )
    except StripeUnavailable:
        return credit
    except StripeGatewayError as error:
        credit.status, credit.error = ReportStatus.failed, error.message[:1000]
        credit.save(update_fields=["status", "error"])
        return credit
    credit.status, credit.stripe_id, credit.sent_at = ReportStatus.sent, txn["id"], timezone.now()
    credit.save(update_fields=["status", "stripe_id", "sent_at"])
    return credit


def fair_billing(*, now: dt.datetime | None = None, customer_id: str | None = None) -> dict[str, int]:
    """Beat (hourly): credits for members gone inactive in a seat period, sent to Stripe."""
    now = now or timezone.now()
    seat_periods = UsagePeriod.objects.filter(
        meter__aggregation=Aggregation.active_seats, start__lte=now, end__gte=now - dt.timedelta(days=35)
    ).select_related("meter")
    if customer_id:
        seat_periods = seat_periods.filter(customer_id=customer_id)
    made = sum(len(credits_compute(period, now=now)) for period in seat_periods)
    pending = SeatCredit.objects.filter(status=ReportStatus.pending).select_related("period__meter")
    if customer_id:
        pending = pending.filter(period__customer_id=customer_id)
    sent = 0
    for credit in pending[:500]:
        sent += credit_send(credit).status == ReportStatus.sent
    return {"made": made, "sent": sent}
