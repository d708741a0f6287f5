"""The demo company's currency launches, built through the services like the rest of the demo:

- a year of FX rates into USD (finance's table: reports convert with it, launches price with it);
- a second finance admin, `finance-admin-2`, for the four-eyes step;
- CAD for Canada, live for four months: drafted and previewed by finance-admin (with one override),
  approved by finance-admin-2, run, and live since DAYS_LIVE days ago; pre-authorised debit switched
  on. Canadian organisations that signed up before it pay in USD (one of them through a spell of
  declines just before the launch); those after it pay in CAD, by card or pre-authorised debit — so
  the acceptance report has a before and an after;
- SEK for Sweden, previewed and waiting for a second admin's approval.

Every call is keyed like the rest of the demo, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from accounts.models import MemberRole, Membership, Organisation, StaffProfile, StaffRole
from billing.currencies import jobs, launches, overrides
from billing.currencies.countries import setup_intent_options
from billing.currencies.models import CountryCurrency, Launch, LaunchRow, LaunchStatus
from billing.currencies.services import fx_rate_set
from billing.customers.services import customer_create, customer_set_default_payment_method, setup_intent_create
from billing.stripe.errors import PaymentDeclined
from billing.subscriptions.services import subscription_create

DAY = 86400
DAYS_LIVE = 120
SECOND_ADMIN = "finance-admin-2"
# 1 unit in USD, about today; the year before drifts a little around it.
RATES = {
    "eur": "1.0842",
    "gbp": "1.2650",
    "jpy": "0.006670",
    "krw": "0.000731",
    "kwd": "3.2500",
    "aud": "0.6550",
    "brl": "0.1790",
    "inr": "0.011950",
    "cad": "0.7200",
    "sek": "0.0952",
    "chf": "1.1300",
}
FX_SOURCE = "ECB reference rate (demo)"


@dataclass(frozen=True)
class Signup:
    name: str
    days_ago: int
    plan: str
    seats: int
    method: str  # card | acss_debit
    declines: bool = False  # a card that declines for a spell just before the launch


# Canadian organisations: five before the launch (USD), five after it (CAD).
CANADA = [
    Signup("Maple Analytics", 300, "pro", 12, "card"),
    Signup("Northern Lights Media", 260, "business", 20, "card", declines=True),
    Signup("Hudson Logistics", 230, "pro", 8, "card"),
    Signup("Rideau Health", 180, "pro", 25, "card"),
    Signup("Okanagan Cloud", 150, "business", 35, "card"),
    Signup("Fundy Systems", 112, "pro", 15, "acss_debit"),
    Signup("Banff Studio", 100, "business", 12, "card"),
    Signup("Muskoka Works", 94, "pro", 6, "acss_debit"),
    Signup("Cabot Labs", 75, "pro", 9, "card"),
    Signup("Laurentian Group", 58, "business", 40, "acss_debit"),
]
EXTRA_ORGANISATIONS = len(CANADA)
EXTRA_STAFF = 1


def prepare(builder) -> None:
    """Before the organisations: rates, the second admin, and the CAD launch, so that Canadian
    organisations signing up after it went live are billed in CAD (`currency_on`)."""
    admin, second = _staff(builder)
    _rates(builder, admin)
    cad = _cad_launch(builder, admin, second)
    for lookup_key, price_id in cad.rows.values_list("lookup_key", "stripe_price_id"):
        plan, interval, _ = lookup_key.split("_")
        builder.prices[(plan, "month" if interval == "monthly" else "year", "cad")] = price_id
    builder.currency_of = lambda country, currency, start: currency_on(country, currency, start, builder.end)


def currency_on(country: str, currency: str, start: int, end: int) -> str:
    """The currency an organisation of `country` signing up at `start` got: CAD in Canada once the
    launch was live (as `countries.currency_for_country` says from then on)."""
    return "cad" if country == "CA" and start >= end - DAYS_LIVE * DAY else currency


def build(builder, out: Callable[[str], None]) -> None:
    """After the organisations: Canadians around the launch, and the SEK launch awaiting approval."""
    admin = get_user_model().objects.get(username="finance-admin")
    cad = Launch.objects.get(currency="cad", status=LaunchStatus.live)
    prices = dict(cad.rows.values_list("lookup_key", "stripe_price_id"))
    pivot = builder.end - DAYS_LIVE * DAY
    for signup in CANADA:
        _canadian(builder, signup, pivot, prices)
    sek = _sek_draft(admin)
    out(
        f"currencies: CAD for CA live since {dt.datetime.fromtimestamp(pivot, dt.UTC):%Y-%m-%d} "
        f"({cad.rows.count()} prices), {len(CANADA)} Canadian organisations; SEK for SE #{sek.pk} awaiting approval"
    )


def logins(password: str) -> list[dict]:
    return [{"username": SECOND_ADMIN, "password": password, "role": "Finance admin (second approver)"}]


def _staff(builder):
    from devtools.demo import DEMO_PASSWORD

    User = get_user_model()
    admin = User.objects.get(username="finance-admin")
    second, created = User.objects.get_or_create(
        username=SECOND_ADMIN, defaults={"email": "finance-admin-2@portal.example"}
    )
    if created:
        second.set_password(DEMO_PASSWORD)
        second.save()
    StaffProfile.objects.update_or_create(user=second, defaults={"role": StaffRole.admin})
    return admin, second


def _rates(builder, admin) -> None:
    today = dt.datetime.fromtimestamp(builder.end, dt.UTC).date()
    days = [today - dt.timedelta(days=30 * n) for n in range(12, 0, -1)] + [today]
    for index, day in enumerate(days):
        for n, (currency, rate) in enumerate(RATES.items()):
            drift = 1 + 0.02 * math.sin(index * 0.8 + n)  # ±2 %, the same every run
            value = (float(rate) * drift) if day != today else float(rate)
            fx_rate_set(currency=currency, quote="usd", rate=f"{value:.6g}", day=day, source=FX_SOURCE, actor=admin)


def _cad_launch(builder, admin, second) -> Launch:
    launch = Launch.objects.filter(currency="cad", countries=["CA"]).exclude(status=LaunchStatus.rolled_back).first()
    if launch and launch.status == LaunchStatus.live:
        return launch
    if launch is None:
        launch = launches.launch_create(
            currency="cad",
            countries=["CA"],
            actor=admin,
            charm_ending="99",
            sibling_tolerance="15",
            note="Canada: bill new customers in dollars they know, with pre-authorised debit",
        )
    if launch.status in (LaunchStatus.draft, LaunchStatus.previewed):
        launch = launches.launch_preview(launch=launch, actor=admin)
        row = launch.rows.filter(lookup_key="enterprise_monthly_cad").first()
        if row:
            overrides.launch_override(
                launch=launch, row_id=row.pk, amount="39.00", reason="Sales' Canadian list price", actor=admin
            )
        launch = launches.launch_approve(launch=launch, actor=second)
    if launch.status == LaunchStatus.approved:
        launches.launch_start(launch=launch, actor=admin)
    jobs.run_here(launch.pk)
    launch.refresh_from_db()
    # It went live four months ago: the steps carry the days they would have.
    live = dt.datetime.fromtimestamp(builder.end - DAYS_LIVE * DAY, dt.UTC)
    Launch.objects.filter(pk=launch.pk).update(
        created_at=live - dt.timedelta(days=9, hours=3),
        previewed_at=live - dt.timedelta(days=9, hours=2),
        approved_at=live - dt.timedelta(days=6, hours=5),
        started_at=live - dt.timedelta(minutes=4),
        finished_at=live,
        went_live_at=live,
        heartbeat_at=live,
        fx_as_of=(live - dt.timedelta(days=9)).date(),
    )
    LaunchRow.objects.filter(launch=launch).update(done_at=live - dt.timedelta(minutes=2))
    CountryCurrency.objects.filter(country="CA").update(updated_at=live)
    launch.refresh_from_db()
    return launch


def _sek_draft(admin) -> Launch:
    open_sek = Launch.objects.filter(currency="sek", status__in=launches.OPEN).first()
    if open_sek:
        return open_sek
    launch = launches.launch_create(
        currency="sek",
        countries=["SE"],
        actor=admin,
        charm_ending="00",
        sibling_tolerance="10",
        note="Sweden: kronor for new sign-ups instead of euros",
    )
    return launches.launch_preview(launch=launch, actor=admin)


def _canadian(builder, signup: Signup, pivot: int, cad_prices: dict[str, str]) -> None:
    from devtools.demo import DEMO_PASSWORD, Step, Story

    User = get_user_model()
    slug = slugify(f"{signup.name}-ca")
    start = builder.end - signup.days_ago * DAY + 10 * 3600
    after = start >= pivot
    currency = "cad" if after else "usd"
    with transaction.atomic():
        org, _ = Organisation.objects.get_or_create(
            slug=slug,
            defaults={
                "name": signup.name,
                "country": "CA",
                "billing_email": f"billing@{slug}.example",
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
    clock = builder.client.post(
        "/v1/test_helpers/test_clocks",
        {"frozen_time": start, "name": f"{signup.name}'s year"},
        idempotency_key=f"demo:clock:{slug}:{start}",
    )
    customer = customer_create(
        organisation=org,
        address={"line1": "200 Bay Street", "city": "Toronto", "postal_code": "M5J 2J2", "country": "CA"},
        locales=["en-CA"],
        test_clock=clock["id"],
        write_through=False,
    )
    story = Story(org, customer["id"], clock["id"], start, signup.plan, "month", currency, signup.seats)
    method = _payment_method(builder, story, signup.method)
    price = cad_prices[f"{signup.plan}_monthly_cad"] if after else builder.prices[(signup.plan, "month", "usd")]
    try:
        subscription = subscription_create(
            organisation=org,
            price_id=price,
            quantity=signup.seats,
            request_key=f"demo-signup-{start}",
            payment_method_id=method,
        )
    except PaymentDeclined:
        return
    story.subscription_id = subscription["id"]
    if signup.declines:
        # A month of declines (so a renewal and its retries fail), a new card days before the launch.
        story.steps.append(Step(pivot - 34 * DAY, "card declines", lambda: builder.start_declining(story)))
        story.steps.append(Step(pivot - 3 * DAY, "new card", lambda: _recover(builder, story)))
    builder.live(story)
    builder.out(f"  {signup.name} (CA, {currency.upper()}, {signup.method}, {signup.seats} seats)")


def _payment_method(builder, story, kind: str) -> str:
    if kind != "acss_debit":
        return builder.collect_payment_method(story, kind)
    org = story.organisation
    setup = setup_intent_create(
        organisation=org,
        method_type="acss_debit",
        request_key=f"demo-{story.start}",
        payment_method_options=setup_intent_options("acss_debit", "cad"),
    )
    setup = builder.client.post(
        f"/v1/setup_intents/{setup['id']}/confirm",
        {
            "payment_method_data": {
                "type": "acss_debit",
                "billing_details": {"name": org.name, "email": org.billing_email},
                "acss_debit": {
                    "institution_number": "000",
                    "transit_number": "11000",
                    "account_number": "000123456789",
                },
            },
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        },
        idempotency_key=f"demo:confirm:{setup['id']}",
    )
    customer_set_default_payment_method(organisation=org, payment_method_id=setup["payment_method"], request_key="demo")
    return setup["payment_method"]


def _recover(builder, story) -> None:
    """A new card after the declines: the open invoice is paid with it, renewals use it."""
    card = builder.client.post(
        "/v1/payment_methods/pm_card_visa/attach",
        {"customer": story.customer_id},
        idempotency_key=f"demo:new-card:{story.customer_id}",
    )["id"]
    customer_set_default_payment_method(
        organisation=story.organisation, payment_method_id=card, request_key="demo-card"
    )
    builder.client.post(
        f"/v1/subscriptions/{story.subscription_id}",
        {"default_payment_method": card},
        idempotency_key=f"demo:new-card-default:{story.subscription_id}",
    )
    subscription = builder.client.get(f"/v1/subscriptions/{story.subscription_id}")
    invoice = builder.client.get(f"/v1/invoices/{subscription['latest_invoice']}")
    if invoice["status"] == "open":
        builder.client.post(
            f"/v1/invoices/{invoice['id']}/pay",
            {"payment_method": card},
            idempotency_key=f"demo:pay-after-new-card:{invoice['id']}",
        )
    story.notes.append("new card after declines")
