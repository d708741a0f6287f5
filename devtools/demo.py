"""The demo company's last year, built through the portal's own domain services.

Each organisation gets a Stripe test clock frozen on the day it signed up (up to a year ago),
signs up as a customer would (customer, a payment method through a SetupIntent, a subscription),
and then lives its year: the clock advances month by month, so Stripe renews, invoices and
collects as it would have; along the way some organisations add or remove seats, upgrade, cancel,
come back, or start failing on a card that declines. Every history ends today (midnight UTC), so
pages show the past, never the future.

Writes go through the same services the pages use (`billing.*.services`); only what a browser
or Stripe itself would do (confirming a SetupIntent with Stripe.js, advancing a test clock) goes
to the gateway directly. Every call carries an idempotency key from the demo's own names, so a
repeated run on the same day changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from accounts.models import MemberRole, Membership, Organisation, StaffProfile, StaffRole
from billing.catalog.models import SelfServeOffer
from billing.catalog.services import price_create, product_create
from billing.customers.services import customer_create, customer_set_default_payment_method, setup_intent_create
from billing.stripe.errors import PaymentDeclined
from billing.stripe.gateway import gateway
from billing.subscriptions.services import subscription_cancel, subscription_create
from devtools.demo_data import COUNTRIES, NAMES, PRODUCTS, SUFFIXES

DEMO_PASSWORD = "demo-portal-2026"
DAY = 86400

# A card that attaches but declines every charge (Stripe's test token).
FAILING_CARD = "pm_card_chargeCustomerFail"


@dataclass
class Step:
    """Something that happens to an organisation at `at` (Unix time on its clock)."""

    at: int
    name: str
    run: Callable[[], None]


@dataclass
class Story:
    organisation: Organisation
    customer_id: str
    clock_id: str
    start: int
    plan: str
    interval: str
    currency: str
    seats: int
    steps: list[Step] = field(default_factory=list)
    subscription_id: str | None = None
    notes: list[str] = field(default_factory=list)


def today_midnight() -> int:
    today = dt.datetime.now(dt.UTC).date()
    return int(dt.datetime.combine(today, dt.time.min, tzinfo=dt.UTC).timestamp())


class DemoBuilder:
    def __init__(self, *, count: int, out: Callable[[str], None]):
        self.count = count
        self.out = out
        self.rng = random.Random(2026)
        self.client = gateway()
        self.end = today_midnight()
        self.prices: dict[tuple[str, str, str], str] = {}
        # Other capabilities add steps to stories: hook(builder, index, story), after plan_year.
        self.hooks: list[Callable[[DemoBuilder, int, Story], None]] = []
        # (country, usual currency, sign-up time) -> the currency billed; demo_currencies sets it.
        self.currency_of: Callable[[str, str, int], str] = lambda country, currency, start: currency

    # --- catalog --------------------------------------------------------------------------
    def catalog(self) -> None:
        for key, (name, amounts) in PRODUCTS.items():
            product = product_create(key=key, name=name, tax_code="txcd_10103001")
            for currency, monthly in amounts.items():
                for interval, amount in (("month", monthly), ("year", monthly * 10)):
                    lookup_key = f"{key}_{interval}ly_{currency}"
                    price = price_create(
                        product_id=product["id"],
                        currency=currency,
                        unit_amount=amount,
                        interval=interval,
                        lookup_key=lookup_key,
                        nickname=f"{name} {'monthly' if interval == 'month' else 'annual'}",
                        metadata={"plan": key},
                    )
                    self.prices[(key, interval, currency)] = price["id"]
                    if key != "enterprise":  # Enterprise Grid is sold by the sales team, not self-serve
                        SelfServeOffer.objects.get_or_create(
                            price_id=price["id"],
                            defaults={"position": list(PRODUCTS).index(key) * 10 + (interval == "year")},
                        )
        self.out(f"catalog: {len(PRODUCTS)} products, {len(self.prices)} prices")

    # --- people ---------------------------------------------------------------------------
    def staff(self) -> None:
        User = get_user_model()
        for role in (StaffRole.admin, StaffRole.analyst, StaffRole.support):
            user, created = User.objects.get_or_create(
                username=f"finance-{role}", defaults={"email": f"finance-{role}@portal.example"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = role == StaffRole.admin
                user.is_superuser = role == StaffRole.admin
                user.save()
            StaffProfile.objects.update_or_create(user=user, defaults={"role": role})

    # --- organisations --------------------------------------------------------------------
    def organisations(self) -> None:
        for index in range(self.count):
            story = self.sign_up(index)
            if story is None:
                continue
            self.plan_year(index, story)
            for hook in self.hooks:
                hook(self, index, story)
            self.live(story)
            self.out(
                f"  {story.organisation.name} ({story.organisation.country.code}, {story.plan}, {story.seats} seats, "
                f"{story.interval}ly, since {dt.datetime.fromtimestamp(story.start, dt.UTC):%Y-%m-%d})"
                + (f": {', '.join(story.notes)}" if story.notes else "")
            )

    def sign_up(self, index: int) -> Story | None:
        User = get_user_model()
        country, currency, locale, city, postal, methods = COUNTRIES[index % len(COUNTRIES)]
        name = f"{NAMES[index % len(NAMES)]} {SUFFIXES[(index // len(NAMES) + index) % len(SUFFIXES)]}"
        slug = slugify(f"{name}-{country}")
        plan = self.rng.choices(["pro", "business", "enterprise"], weights=[6, 3, 1])[0]
        # Sign-ups spread over the year, more of them recently (the company grows); every ninth
        # organisation is still in its trial.
        days_ago = 5 if index % 9 == 4 else int(20 + 345 * (1 - (index / self.count)) ** 1.3)
        start = self.end - days_ago * DAY + self.rng.randint(8, 18) * 3600
        currency = self.currency_of(country, currency, start)  # a currency launch may have changed it
        with transaction.atomic():
            org, _ = Organisation.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "country": country,
                    "billing_email": f"billing@{slug}.example",
                    "is_enterprise": plan == "enterprise",
                    "created_at": dt.datetime.fromtimestamp(start, dt.UTC),
                },
            )
            user, created = User.objects.get_or_create(
                username=f"owner@{slug}.example", defaults={"email": f"owner@{slug}.example"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            Membership.objects.get_or_create(user=user, organisation=org, defaults={"role": MemberRole.owner})
        clock = self.client.post(
            "/v1/test_helpers/test_clocks",
            {"frozen_time": start, "name": f"{name}'s year"},
            idempotency_key=f"demo:clock:{slug}:{start}",
        )
        customer = customer_create(
            organisation=org,
            address={"line1": f"{10 + index} Market Street", "city": city, "postal_code": postal, "country": country},
            locales=[locale],
            tax_exempt="exempt" if index % 21 == 5 else "none",
            test_clock=clock["id"],
            write_through=False,
        )
        interval = "year" if index % 3 == 0 else "month"
        seats = self.rng.choice([8, 12, 20, 35, 60, 150, 400]) if plan != "pro" else self.rng.randint(2, 25)
        story = Story(org, customer["id"], clock["id"], start, plan, interval, currency, seats)
        method = None
        if plan != "enterprise":
            method = self.collect_payment_method(story, methods[(index // len(COUNTRIES) + 1) % len(methods)])
        try:
            subscription = subscription_create(
                organisation=org,
                price_id=self.prices[(plan, interval, currency)],
                quantity=seats,
                request_key=f"demo-signup-{start}",
                payment_method_id=method,
                trial_days=14 if index % 9 == 4 else None,
                send_invoice_days=30 if plan == "enterprise" else None,
            )
        except PaymentDeclined:
            story.notes.append("first payment declined")
            return story
        story.subscription_id = subscription["id"]
        return story

    def collect_payment_method(self, story: Story, kind: str) -> str:
        """As the self-serve page does: a SetupIntent from the service, confirmed by (the stand-in for) Stripe.js."""
        org = story.organisation
        setup = setup_intent_create(organisation=org, method_type=kind, request_key=f"demo-{story.start}")
        billing = {"name": org.name, "email": org.billing_email}
        params: dict = {"mandate_data": {"customer_acceptance": {"type": "offline"}}}
        if kind == "us_bank_account":
            params["payment_method_data"] = {
                "type": "us_bank_account",
                "billing_details": billing,
                "us_bank_account": {
                    "routing_number": "110000000",
                    "account_number": "000123456789",
                    "account_holder_type": "company",
                    "account_type": "checking",
                },
            }
        elif kind == "sepa_debit":
            params["payment_method_data"] = {
                "type": "sepa_debit",
                "billing_details": billing,
                "sepa_debit": {"iban": "DE89370400440532013000"},
            }
        else:
            params = {"payment_method": "pm_card_mastercard" if len(org.slug) % 2 else "pm_card_visa"}
        if setup["status"] != "succeeded":
            setup = self.client.post(
                f"/v1/setup_intents/{setup['id']}/confirm", params, idempotency_key=f"demo:confirm:{setup['id']}"
            )
        method = setup["payment_method"]
        method_id = method if isinstance(method, str) else method["id"]
        customer_set_default_payment_method(organisation=org, payment_method_id=method_id, request_key="demo")
        return method_id

    # --- a year in the life ---------------------------------------------------------------
    def plan_year(self, index: int, story: Story) -> None:
        if story.subscription_id is None or index % 9 == 4:
            return  # no subscription, or a trial that started days ago
        span = self.end - story.start

        def at(fraction: float) -> int:
            return story.start + int(span * fraction)

        def change_seats(seats: int, label: str) -> Callable[[], None]:
            def run() -> None:
                self.update_subscription(story, {"quantity": seats}, label)
                story.notes.append(f"{label} to {seats} seats")
                story.seats = seats

            return run

        if index % 13 == 7:
            story.steps.append(Step(at(0.6), "cancel", lambda: self.cancel(story, now=True, note="churned")))
            if index % 2:
                story.steps.append(Step(at(0.85), "come back", lambda: self.come_back(story)))
            return
        if index % 10 == 2 and span > 60 * DAY:
            story.steps.append(Step(at(0.5), "expansion", change_seats(story.seats + max(2, story.seats // 2), "grew")))
        if index % 12 == 5 and span > 60 * DAY and story.seats > 3:
            story.steps.append(Step(at(0.55), "contraction", change_seats(max(2, story.seats * 2 // 3), "shrank")))
        if index % 14 == 10 and story.plan == "pro" and span > 60 * DAY:
            story.steps.append(Step(at(0.4), "upgrade", lambda: self.upgrade(story)))
        if index % 8 == 3 and story.interval == "month" and story.plan != "enterprise" and span > 40 * DAY:
            # Five weeks before today its card starts declining: the renewals since then fail.
            story.steps.append(Step(self.end - 35 * DAY, "card declines", lambda: self.start_declining(story)))
        if index % 11 == 6:
            story.steps.append(
                Step(self.end - 3 * DAY, "cancel later", lambda: self.cancel(story, now=False, note="cancels"))
            )

    def live(self, story: Story) -> None:
        for step in sorted(story.steps, key=lambda s: s.at):
            if step.at > story.start:
                self.advance(story, step.at)
            step.run()
        self.advance(story, self.end)

    def advance(self, story: Story, to: int) -> None:
        clock = self.client.get(f"/v1/test_helpers/test_clocks/{story.clock_id}")
        while clock["frozen_time"] < to:
            target = min(to, clock["frozen_time"] + 700 * DAY)
            clock = self.client.post(
                f"/v1/test_helpers/test_clocks/{story.clock_id}/advance",
                {"frozen_time": target},
                idempotency_key=f"demo:advance:{story.clock_id}:{target}",
            )

    def update_subscription(self, story: Story, item_changes: dict, label: str) -> None:
        subscription = self.client.get(f"/v1/subscriptions/{story.subscription_id}")
        item = subscription["items"]["data"][0]
        self.client.post(
            f"/v1/subscriptions/{story.subscription_id}",
            {"items": [{"id": item["id"], **item_changes}], "proration_behavior": "create_prorations"},
            idempotency_key=f"demo:{label}:{story.subscription_id}",
        )

    def upgrade(self, story: Story) -> None:
        story.plan = "business"
        self.update_subscription(story, {"price": self.prices[("business", story.interval, story.currency)]}, "upgrade")
        story.notes.append("upgraded to Business+")

    def cancel(self, story: Story, *, now: bool, note: str) -> None:
        subscription_cancel(
            organisation=story.organisation,
            subscription_id=story.subscription_id,
            at_period_end=not now,
            request_key=f"demo-{'now' if now else 'period-end'}",
        )
        story.notes.append(note)

    def come_back(self, story: Story) -> None:
        subscription = subscription_create(
            organisation=story.organisation,
            price_id=self.prices[(story.plan, story.interval, story.currency)],
            quantity=story.seats,
            request_key=f"demo-return-{story.start}",
            send_invoice_days=30 if story.plan == "enterprise" else None,
        )
        story.subscription_id = subscription["id"]
        story.notes.append("came back")

    def start_declining(self, story: Story) -> None:
        failing = self.client.post(
            f"/v1/payment_methods/{FAILING_CARD}/attach",
            {"customer": story.customer_id},
            idempotency_key=f"demo:failing-card:{story.customer_id}",
        )["id"]
        customer_set_default_payment_method(
            organisation=story.organisation, payment_method_id=failing, request_key="demo-failing"
        )
        self.client.post(
            f"/v1/subscriptions/{story.subscription_id}",
            {"default_payment_method": failing},
            idempotency_key=f"demo:failing-default:{story.subscription_id}",
        )
        story.notes.append("card declining")
