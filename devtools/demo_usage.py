"""The demo's usage-billed organisations: two months of product usage, billed through Stripe's meters.

Four teams on a usage plan (active seats with fair billing, workflow runs, storage), each on its own
Stripe test clock from about ten weeks ago. Period by period the product reports usage (the
generator's realistic stream, through the ingestion service with the clock's time), the portal
reports it to Stripe's meters and sends fair-billing credits, then the clock crosses the period's
end: Stripe invoices the usage, and the portal flushes and closes the period. Along the way members
stop working (credits), events arrive after an invoice (flagged late; one team's are amended by
finance), and one team has a burst of usage (an anomaly). Every Stripe call is keyed by the demo's
names, and an organisation already built is skipped, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import MemberRole, Membership, Organisation
from billing.customers.services import customer_create, customer_set_default_payment_method
from billing.stripe import mirror
from billing.usage import fairbilling, ingest, reporting, services
from billing.usage.generator import stream
from billing.usage.keys import api_key_create
from billing.usage.models import Meter

DAY = dt.timedelta(days=1)

METERS = [
    # key, name, unit, aggregation, prices (major units)
    ("active_seats", "Active seats", "seat", "active_seats", {"usd": 875, "jpy": 1050, "eur": 800, "gbp": 700}),
    ("workflow_runs", "Workflow runs", "run", "count", {"usd": 5, "jpy": 8, "eur": 5, "gbp": 4}),
    ("storage_gb", "File storage", "GB", "max", {"usd": 25, "jpy": 40, "eur": 23, "gbp": 20}),
]


@dataclass
class Team:
    name: str
    country: str
    currency: str
    utc_offset: int
    members: list[str]
    per_hour: int
    storage_base: int
    leaves: dict[str, int] = field(default_factory=dict)  # member -> days before today they stop
    late_after_invoice: int = 0  # events that arrive after the first invoice
    amend_late: bool = False
    spike_days_ago: int | None = None


TEAMS = [
    Team("Northwind Robotics", "US", "usd", -5, ["ana", "ben", "carla", "dana", "eli", "farah", "gus", "hana"], 30, 420,
         leaves={"dana": 20}, late_after_invoice=60, amend_late=True),
    Team("Sakura Studio", "JP", "jpy", 9, ["aiko", "daichi", "emi", "kenji", "mio", "ren"], 22, 260,
         leaves={"kenji": 45}, late_after_invoice=35),
    Team("Fjordline Logistik", "DE", "eur", 1, ["anna", "bjorn", "clara", "dirk", "eva", "felix", "greta"], 26, 610,
         leaves={"eva": 17}, spike_days_ago=3),
    Team("Thames Analytics", "GB", "gbp", 0, ["alfie", "beth", "callum", "daisy", "evie"], 16, 150),
]  # fmt: skip
ORGANISATIONS = len(TEAMS)
MEMBERSHIPS = sum(len(team.members) + 1 for team in TEAMS)


def logins() -> list[dict]:
    """The owner of a usage-billed team, for the printed demo logins."""
    from devtools.demo import DEMO_PASSWORD

    team = TEAMS[0]
    slug = team.name.lower().replace(" ", "-") + f"-{team.country.lower()}"
    return [
        {
            "username": f"owner@{slug}.example",
            "password": DEMO_PASSWORD,
            "role": f"Customer owner, {team.name} (usage-based)",
        }
    ]


class UsageDemo:
    def __init__(self, builder):
        self.builder = builder
        self.client = builder.client
        self.end = dt.datetime.fromtimestamp(builder.end, dt.UTC)
        self.out = builder.out
        self.rng = random.Random(14)

    def run(self) -> None:
        meters = self.meters()
        for team in TEAMS:
            self.team(team, meters)

    def meters(self) -> list[Meter]:
        made = []
        for key, name, unit, aggregation, prices in METERS:
            meter = Meter.objects.filter(key=key).first() or services.meter_create(
                key=key, name=name, unit=unit, aggregation=aggregation, prices=prices, actor=None
            )
            made.append(meter)
        self.out(f"usage: {len(made)} meters with Stripe meters and metered prices")
        return made

    def team(self, team: Team, meters: list[Meter]) -> None:
        slug = team.name.lower().replace(" ", "-") + f"-{team.country.lower()}"
        if Organisation.objects.filter(slug=slug, stripe_customer_id__isnull=False).exists():
            return
        start = self.end - 68 * DAY + dt.timedelta(hours=10)
        org, emails = self.people(team, slug, start)
        clock = self.client.post(
            "/v1/test_helpers/test_clocks",
            {"frozen_time": int(start.timestamp()), "name": f"{team.name}'s usage"},
            idempotency_key=f"demo:usage-clock:{slug}",
        )
        customer_create(organisation=org, test_clock=clock["id"], address={"country": team.country}, write_through=True)
        card = self.client.post(
            "/v1/payment_methods/pm_card_visa/attach",
            {"customer": org.stripe_customer_id},
            idempotency_key=f"demo:usage-card:{slug}",
        )
        customer_set_default_payment_method(organisation=org, payment_method_id=card["id"], request_key="demo")
        subscription = services.metered_subscription_create(
            organisation=org, meters=meters, currency=team.currency, request_key="demo"
        )
        api_key_create(organisation=org, name="Production backend", actor=None)
        notes = self.live(team, org, emails, meters, subscription["id"], clock["id"])
        self.out(f"  {team.name} ({team.country}, usage-based, {len(emails)} members): {', '.join(notes)}")

    def people(self, team: Team, slug: str, start: dt.datetime) -> tuple[Organisation, dict[str, str]]:
        from devtools.demo import DEMO_PASSWORD

        User = get_user_model()
        with transaction.atomic():
            org, _ = Organisation.objects.get_or_create(
                slug=slug,
                defaults={"name": team.name, "country": team.country, "billing_email": f"billing@{slug}.example",
                          "created_at": start},
            )  # fmt: skip
            owner, created = User.objects.get_or_create(
                username=f"owner@{slug}.example", defaults={"email": f"owner@{slug}.example"}
            )
            if created:
                owner.set_password(DEMO_PASSWORD)
                owner.save()
            Membership.objects.get_or_create(user=owner, organisation=org, defaults={"role": MemberRole.owner})
            emails = {"owner": owner.email}
            for name in team.members:
                email = f"{name}@{slug}.example"
                user, created = User.objects.get_or_create(username=email, defaults={"email": email})
                if created:
                    user.set_unusable_password()
                    user.save()
                Membership.objects.get_or_create(user=user, organisation=org, defaults={"role": MemberRole.member})
                emails[name] = email
        return org, emails

    def live(self, team, org, emails, meters, subscription_id, clock_id) -> list[str]:
        seats, runs, storage = meters
        leaves = {emails[m]: self.end - days * DAY for m, days in team.leaves.items()}
        notes: list[str] = []
        first_invoice = True
        for _ in range(6):
            subscription = self.client.get(f"/v1/subscriptions/{subscription_id}")
            mirror.apply_object(subscription)
            item = subscription["items"]["data"][0]
            p_start = dt.datetime.fromtimestamp(item["current_period_start"], dt.UTC)
            p_end = dt.datetime.fromtimestamp(item["current_period_end"], dt.UTC)
            until = min(p_end, self.end)
            self.usage(team, org, [runs, storage], seats, list(emails.values()), leaves, p_start, until)
            reporting.usage_report(now=until - dt.timedelta(seconds=1), customer_id=org.stripe_customer_id)
            fairbilling.fair_billing(now=until, customer_id=org.stripe_customer_id)
            if p_end > self.end:
                break
            renewal_at = int(p_end.timestamp()) + 60
            self.client.post(
                f"/v1/test_helpers/test_clocks/{clock_id}/advance",
                {"frozen_time": renewal_at},
                idempotency_key=f"demo:usage-advance:{clock_id}:{renewal_at}",
            )
            latest = self.client.get(f"/v1/subscriptions/{subscription_id}")["latest_invoice"]
            invoice = self.client.get(f"/v1/invoices/{latest}")
            mirror.apply_object(invoice)
            reporting.invoice_flush(customer_id=org.stripe_customer_id, invoice=invoice, now=p_end)
            notes.append(f"invoiced {p_start:%-d %b}–{p_end:%-d %b}")
            if first_invoice and team.late_after_invoice:
                notes.append(self.late_events(team, org, runs, p_start, p_end))
            first_invoice = False
        if clock_id:
            target = int(self.end.timestamp())
            self.client.post(
                f"/v1/test_helpers/test_clocks/{clock_id}/advance",
                {"frozen_time": target},
                idempotency_key=f"demo:usage-advance:{clock_id}:{target}",
            )
        if leaves:
            notes.append(f"{', '.join(e.split('@')[0] for e in leaves)} stopped working (fair-billing credit)")
        return notes

    def usage(self, team, org, metered, seats, members, leaves, start, until) -> None:
        rng = random.Random(f"{org.slug}:{start.timestamp()}")
        events = list(
            stream(
                rng=rng, prefix=f"{org.slug[:12]}-{int(start.timestamp())}", meters=[seats, *metered], start=start,
                end=until, per_hour=team.per_hour, members=members, inactive=leaves, utc_offset_hours=team.utc_offset,
                duplicate_rate=0.03,
            )
        )  # fmt: skip
        storage_key = metered[1].key
        for event in events:
            if event["meter"] == storage_key:
                event["value"] = team.storage_base + (event["timestamp"] - int(start.timestamp())) // 86400 * 3
        if team.spike_days_ago is not None:
            day = (self.end - team.spike_days_ago * DAY).date()
            spike = [e for e in events if e["meter"] == metered[0].key and _day(e) == day]
            events += [{**e, "id": f"{e['id']}-x{n}"} for e in spike for n in range(5)]  # a runaway workflow
        events.sort(key=lambda e: e["timestamp"])
        for i in range(0, len(events), 1000):
            batch = events[i : i + 1000]
            ingest.ingest(org, batch, now=max(e["timestamp"] for e in batch) + 60)

    def late_events(self, team, org, runs, p_start, p_end) -> str:
        late = [
            {"id": f"{org.slug[:12]}-late-{n}", "meter": runs.key,
             "timestamp": int((p_end - dt.timedelta(hours=2 + n)).timestamp()), "properties": {"client": "mobile"}}
            for n in range(team.late_after_invoice)
        ]  # fmt: skip
        outcome = ingest.ingest(org, late, now=p_end.timestamp() + 2 * 86400)
        if not team.amend_late:
            return f"{outcome.late} late events flagged"
        from django.contrib.auth import get_user_model

        period = org.usage_periods.get(meter=runs, end=p_end)
        admin = get_user_model().objects.filter(username="finance-admin").first()
        correction = services.correction_create(
            period=period,
            quantity=services.late_unbilled(period),
            reason="Workflow runs the mobile client queued offline and sent after the invoice",
            actor=admin,
        )
        services.correction_send(correction)
        return f"{outcome.late} late events amended by finance (invoice item)"


def _day(event: dict) -> dt.date:
    return dt.datetime.fromtimestamp(event["timestamp"], dt.UTC).date()


def build(builder) -> None:
    UsageDemo(builder).run()
