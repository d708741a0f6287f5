"""The demo's dunning: policies, and organisations whose payments fail during their year, dunned by
the portal's own engine as their test clocks advance.

`policies()` runs before the organisations live their year; `plan()` is a DemoBuilder hook that
adds dunning episodes to some stories: the card starts declining before a renewal, then each day the
demo does what the worker would do on the events of that day (mirror the customer's invoices, open
cases, turn Stripe's retries off, sweep, make the due attempts, run final actions) through the same
services, so the history is the one the engine makes. Episodes: recovered by a retry after a new
card, paid by the customer, exhausted (subscription cancelled, organisation restricted), a bank debit
that fails days later, a paused organisation, and some still in progress today.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import transaction

from billing.dunning import actions, engine, services
from billing.dunning.emails import ensure_default_templates
from billing.dunning.models import Attempt, AttemptStatus, Case, CaseStatus, FinalAction, Policy
from billing.dunning.policies import default_policy, policy_save
from billing.stripe import mirror
from billing.stripe.gateway import gateway
from devtools.demo import DAY, Step, Story

# Episodes, by the days before today of the renewal that fails (and what happens then).
EPISODES = [
    ("retry_recovers", 300),
    ("customer_pays", 260),
    ("exhausted", 220),
    ("retry_recovers", 180),
    ("bank_debit", 140),
    ("customer_pays", 110),
    ("exhausted", 80),
    ("retry_recovers", 50),
    ("paused", 6),
    ("in_progress", 4),
    ("in_progress", 9),
]


def policies() -> None:
    """Default (ships), plus one for self-serve cards and one for bank debits."""
    templates = ensure_default_templates()
    default_policy()
    admin = get_user_model().objects.filter(username="finance-admin").first()
    wanted = [
        (
            "Self-serve cards",
            {
                "priority": 10,
                "segment": "self_serve",
                "method_types": ["card"],
                "max_attempts": 4,
                "final_action": FinalAction.cancel_subscription,
            },
            [(1, "retry-failed"), (3, "retry-failed"), (5, "retry-failed"), (7, "final-notice")],
        ),
        (
            "Bank debits",
            {
                "priority": 20,
                "method_types": ["us_bank_account", "sepa_debit"],
                "max_attempts": 2,
                "final_action": FinalAction.mark_uncollectible,
            },
            [(3, "retry-failed"), (10, "final-notice")],
        ),
    ]
    for name, data, steps in wanted:
        if Policy.objects.filter(name=name).exists():
            continue
        policy_save(
            instance=None,
            data={
                "name": name,
                "active": True,
                "opening_email": templates["payment-failed"],
                "final_email": templates["final-notice"],
                "recovered_email": templates["payment-received"],
                **data,
            },
            steps=[(day, templates[key]) for day, key in steps],
            actor=admin,
        )


class Episodes:
    """A DemoBuilder hook (`builder.hooks`): gives eligible stories a dunning episode each."""

    def __init__(self):
        self.todo = list(EPISODES)

    def __call__(self, builder, index: int, story: Story) -> None:
        if not self.todo or story.subscription_id is None or story.interval != "month" or story.plan == "enterprise":
            return
        if story.steps or index % 9 == 4:
            return  # stories with changes of their own (and trials) keep them
        us = story.organisation.country.code == "US"
        order = sorted(enumerate(self.todo), key=lambda item: not (us and item[1][0] == "bank_debit"))
        for position, (kind, days_ago) in order:
            if kind == "bank_debit" and story.organisation.country.code != "US":
                continue
            renewal = _renewal(story, builder.end - days_ago * DAY)
            if renewal is None or renewal - DAY <= story.start + DAY:
                continue
            self.todo.pop(position)
            _plan_episode(builder, story, kind, renewal)
            return


def _months_after(start: int, months: int) -> int:
    import calendar
    import datetime as dt

    when = dt.datetime.fromtimestamp(start, dt.UTC)
    month = when.month - 1 + months
    year, month = when.year + month // 12, month % 12 + 1
    return int(when.replace(year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1])).timestamp())


def _renewal(story: Story, target: int) -> int | None:
    """The monthly renewal of the story's subscription closest to `target`, within its history."""
    best = None
    for k in range(1, 13):
        at = _months_after(story.start, k)
        if abs(at - target) > 16 * DAY:
            continue
        if best is None or abs(at - target) < abs(best - target):
            best = at
    return best


def _plan_episode(builder, story: Story, kind: str, renewal: int) -> None:
    def step(at: int, name: str, run: Callable[[], None]) -> None:
        if story.start < at < builder.end:
            story.steps.append(Step(at, name, run))

    if kind == "bank_debit":
        step(renewal - DAY, "debit account low", lambda: _failing_debit(builder, story))
    else:
        step(renewal - DAY, "card declines", lambda: builder.start_declining(story))
    last = {"retry_recovers": 6, "customer_pays": 3, "exhausted": 9, "bank_debit": 20, "paused": 6, "in_progress": 9}
    for day in range(0, last[kind] + 1):
        step(renewal + day * DAY + 2 * 3600, "dunning", lambda: drive(story))
    if kind == "retry_recovers":
        step(renewal + 4 * DAY, "new card", lambda: _new_card(builder, story))
    elif kind == "customer_pays":
        step(renewal + 2 * DAY, "customer pays", lambda: _customer_pays(builder, story))
    elif kind == "paused":
        step(renewal + DAY + 4 * 3600, "finance pauses dunning", lambda: _pause(story))
    if kind in ("retry_recovers", "customer_pays"):
        story.notes.append("dunning: recovered")
    else:
        story.notes.append(f"dunning: {kind.replace('_', ' ')}")


def _failing_debit(builder, story: Story) -> None:
    client = builder.client
    setup = client.post(
        "/v1/setup_intents",
        {
            "customer": story.customer_id,
            "confirm": "true",
            "payment_method_types": ["us_bank_account"],
            "payment_method_data": {
                "type": "us_bank_account",
                "billing_details": {"name": story.organisation.name, "email": story.organisation.billing_email},
                "us_bank_account": {"routing_number": "110000000", "account_number": "000111111113"},
            },
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        },
        idempotency_key=f"demo:low-debit:{story.customer_id}",
    )
    method = setup["payment_method"] if isinstance(setup["payment_method"], str) else setup["payment_method"]["id"]
    _make_default(builder, story, method, "low-debit")


def _make_default(builder, story: Story, method: str, label: str) -> None:
    builder.client.post(
        f"/v1/customers/{story.customer_id}",
        {"invoice_settings": {"default_payment_method": method}},
        idempotency_key=f"demo:{label}:default:{story.customer_id}",
    )
    builder.client.post(
        f"/v1/subscriptions/{story.subscription_id}",
        {"default_payment_method": method},
        idempotency_key=f"demo:{label}:sub:{story.subscription_id}",
    )


def _new_card(builder, story: Story) -> None:
    method = builder.client.post(
        "/v1/payment_methods/pm_card_visa/attach",
        {"customer": story.customer_id},
        idempotency_key=f"demo:new-card:{story.customer_id}",
    )["id"]
    builder.client.post(
        f"/v1/customers/{story.customer_id}",
        {"invoice_settings": {"default_payment_method": method}},
        idempotency_key=f"demo:new-card:default:{story.customer_id}",
    )
    builder.client.post(
        f"/v1/subscriptions/{story.subscription_id}",
        {"default_payment_method": method},
        idempotency_key=f"demo:new-card:sub:{story.subscription_id}",
    )


def _customer_pays(builder, story: Story) -> None:
    """On the hosted invoice page, with a new card (which then becomes the default)."""
    _new_card(builder, story)
    for invoice in builder.client.get("/v1/invoices", customer=story.customer_id, status="open", limit=10)["data"]:
        builder.client.post(
            f"/v1/invoices/{invoice['id']}/pay",
            {
                "payment_method": builder.client.get(f"/v1/customers/{story.customer_id}")["invoice_settings"][
                    "default_payment_method"
                ]
            },
            idempotency_key=f"demo:hosted-pay:{invoice['id']}",
        )


def _pause(story: Story) -> None:
    admin = get_user_model().objects.get(username="finance-admin")
    try:
        actions.dunning_pause(
            organisation=story.organisation, actor=admin, reason="Customer disputes the seat count; talking to them"
        )
    except actions.DunningError:
        pass  # a repeated run


def drive(story: Story) -> None:
    """What the worker does on this day's events for this customer, done now (see the module doc)."""
    client = gateway()
    services.clock_observe(client.get(f"/v1/test_helpers/test_clocks/{story.clock_id}"))
    with transaction.atomic():
        mirror.apply_object(client.get(f"/v1/customers/{story.customer_id}"))
        for method in client.get(f"/v1/customers/{story.customer_id}/payment_methods", limit=20)["data"]:
            mirror.apply_object(method)
    for invoice in client.get("/v1/invoices", customer=story.customer_id, limit=10)["data"]:
        intents = [p["payment"]["payment_intent"] for p in (invoice.get("payments") or {}).get("data") or []]
        with transaction.atomic():
            mirror.apply_object(invoice)
            for intent_id in intents[-1:]:
                mirror.apply_object(client.get(f"/v1/payment_intents/{intent_id}"))
        case = Case.objects.filter(invoice_id=invoice["id"]).first()
        if invoice["status"] != "open":
            if case is not None:
                services.case_invoice_changed(invoice_id=invoice["id"])
            continue
        last = client.get(f"/v1/payment_intents/{intents[-1]}") if intents else None
        if case is None and last is not None and last["status"] == "requires_payment_method":
            case = services.case_open(invoice_id=invoice["id"], snapshot=invoice)
        if case is not None:
            actions.turn_off_stripe_retries(case_id=case.pk)
    for attempt in Attempt.objects.filter(case__customer_id=story.customer_id, status=AttemptStatus.processing):
        services.attempt_settled(payment_intent=client.get(f"/v1/payment_intents/{attempt.payment_intent_id}"))
    engine.sweep()
    mine = Attempt.objects.filter(case__customer_id=story.customer_id)
    for attempt in mine.filter(status=AttemptStatus.queued):
        engine.attempt_execute(attempt_id=attempt.pk)
    deadline = time.monotonic() + 30  # a worker (make run) may have taken one: wait for its outcome
    while (
        mine.filter(status__in=[AttemptStatus.queued, AttemptStatus.sending]).exists() and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    for case in Case.objects.filter(
        customer_id=story.customer_id, status=CaseStatus.exhausted, final_action_status="pending"
    ):
        actions.run_final_action(case_id=case.pk)
