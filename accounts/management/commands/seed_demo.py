"""Build a believable company through the Stripe gateway, so the mirror fills by the event path.

Products with monthly and annual prices in nine currencies (JPY and KRW without decimals, KWD
with three), 64 organisations in 16 countries paying by card, ACH and SEPA, trials, cancellations,
and past-due invoices after declined renewals (a test clock moves a month ahead). Every call
carries an idempotency key from the demo's own names, so a second run changes nothing.
"""

from __future__ import annotations

import json
import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from accounts.models import MemberRole, Membership, Organisation, StaffProfile, StaffRole
from billing.customers.services import customer_create
from billing.stripe.errors import InvalidRequest, PaymentDeclined, StripeGatewayError
from billing.stripe.gateway import gateway

DEMO_PASSWORD = "demo-portal-2026"

# Monthly price per seat in minor units; annual is ten months' worth (two months free).
PRODUCTS = {
    "pro": (
        "Pro",
        {
            "usd": 875,
            "eur": 800,
            "gbp": 700,
            "jpy": 1050,
            "krw": 11000,
            "kwd": 2700,
            "aud": 1300,
            "brl": 4500,
            "inr": 60000,
        },
    ),
    "business": (
        "Business+",
        {
            "usd": 1500,
            "eur": 1400,
            "gbp": 1250,
            "jpy": 1800,
            "krw": 19000,
            "kwd": 4600,
            "aud": 2200,
            "brl": 7900,
            "inr": 99000,
        },
    ),
    "enterprise": (
        "Enterprise Grid",
        {
            "usd": 3000,
            "eur": 2800,
            "gbp": 2500,
            "jpy": 3600,
            "krw": 38000,
            "kwd": 9200,
            "aud": 4400,
            "brl": 15800,
            "inr": 198000,
        },
    ),
}

COUNTRIES = [  # country, currency, locale, city, postal code, payment method kinds
    ("US", "usd", "en-US", "San Francisco", "94107", ("card", "us_bank_account")),
    ("CA", "usd", "en-CA", "Toronto", "M5V 2T6", ("card",)),
    ("GB", "gbp", "en-GB", "London", "EC1V 9HX", ("card",)),
    ("DE", "eur", "de-DE", "Berlin", "10115", ("card", "sepa_debit")),
    ("FR", "eur", "fr-FR", "Paris", "75002", ("card", "sepa_debit")),
    ("NL", "eur", "nl-NL", "Amsterdam", "1012 AB", ("sepa_debit", "card")),
    ("ES", "eur", "es-ES", "Madrid", "28013", ("card", "sepa_debit")),
    ("IE", "eur", "en-IE", "Dublin", "D02 X285", ("card",)),
    ("JP", "jpy", "ja-JP", "Tokyo", "100-0005", ("card",)),
    ("KR", "krw", "ko-KR", "Seoul", "04524", ("card",)),
    ("KW", "kwd", "ar-KW", "Kuwait City", "13001", ("card",)),
    ("AU", "aud", "en-AU", "Sydney", "2000", ("card",)),
    ("BR", "brl", "pt-BR", "São Paulo", "01310-100", ("card",)),
    ("IN", "inr", "en-IN", "Bengaluru", "560001", ("card",)),
    ("SE", "eur", "sv-SE", "Stockholm", "111 52", ("card", "sepa_debit")),
    ("SG", "usd", "en-SG", "Singapore", "018956", ("card",)),
]
NAMES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Massive Dynamic",
    "Pied Piper",
    "Aperture",
    "Black Mesa",
    "Monarch",
    "Nakatomi",
    "Duff",
    "Krusty",
    "Prestige",
    "Sirius",
    "Virtucon",
    "Zorg",
    "Buy n Large",
    "Dunder Mifflin",
    "Bluth",
    "Sterling Cooper",
    "Los Pollos",
    "Good Burger",
]
SUFFIXES = ["Labs", "Systems", "Group", "Studio", "Works", "Cloud", "Analytics", "Health", "Logistics", "Media"]


class Command(BaseCommand):
    help = "Create the demo company (products, prices, 64 customer organisations, users) through the gateway."

    def add_arguments(self, parser):
        parser.add_argument("--organisations", type=int, default=64)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if demo data already exists.")
        parser.add_argument("--no-clock", action="store_true", help="Skip the month-ahead renewals (faster).")

    def handle(self, *args, organisations: int, if_empty: bool, no_clock: bool, **options):
        if not settings.STRIPE_USES_SANDBOX and not settings.STRIPE_SECRET_KEY.startswith(("sk_test_", "rk_test_")):
            raise CommandError("seed_demo only runs against the sandbox or a Stripe test-mode key")
        if if_empty and Organisation.objects.exists():
            self.stdout.write("demo data already present")
            return
        self.rng = random.Random(2026)
        self.client = gateway()
        try:
            prices = self.seed_catalog()
            self.seed_staff()
            self.seed_organisations(organisations, prices, with_clock=not no_clock)
        except StripeGatewayError as error:
            raise CommandError(f"Stripe refused a demo call: {error.message}") from error
        self.write_logins()
        self.stdout.write(self.style.SUCCESS(f"demo data ready: {Organisation.objects.count()} organisations"))

    # --- catalog ------------------------------------------------------------------------------
    def seed_catalog(self) -> dict[tuple[str, str, str], str]:
        prices: dict[tuple[str, str, str], str] = {}
        existing = {
            p["lookup_key"]: p["id"] for p in self.client.list_all("/v1/prices", active="true") if p.get("lookup_key")
        }
        for key, (name, amounts) in PRODUCTS.items():
            product = self.client.post(
                "/v1/products",
                {"name": name, "metadata": {"plan": key}, "tax_code": "txcd_10103001"},
                idempotency_key=f"demo:product:{key}",
            )
            for currency, monthly in amounts.items():
                for interval, amount in (("month", monthly), ("year", monthly * 10)):
                    lookup_key = f"{key}_{interval}ly_{currency}"
                    if lookup_key not in existing:
                        existing[lookup_key] = self.client.post(
                            "/v1/prices",
                            {
                                "product": product["id"],
                                "currency": currency,
                                "unit_amount": amount,
                                "recurring": {"interval": interval},
                                "lookup_key": lookup_key,
                                "nickname": f"{name} {'monthly' if interval == 'month' else 'annual'}",
                                "metadata": {"plan": key},
                            },
                            idempotency_key=f"demo:price:{lookup_key}",
                        )["id"]
                    prices[(key, interval, currency)] = existing[lookup_key]
        self.stdout.write(f"catalog: {len(PRODUCTS)} products, {len(prices)} prices")
        return prices

    # --- people -------------------------------------------------------------------------------
    def seed_staff(self) -> None:
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

    # --- organisations ------------------------------------------------------------------------
    def seed_organisations(self, count: int, prices: dict, *, with_clock: bool) -> None:
        User = get_user_model()
        clock = None
        for index in range(count):
            country, currency, locale, city, postal, methods = COUNTRIES[index % len(COUNTRIES)]
            name = f"{NAMES[index % len(NAMES)]} {SUFFIXES[(index // len(NAMES) + index) % len(SUFFIXES)]}"
            slug = slugify(f"{name}-{country}")
            plan = self.rng.choices(["pro", "business", "enterprise"], weights=[6, 3, 1])[0]
            with transaction.atomic():
                org, _ = Organisation.objects.get_or_create(
                    slug=slug,
                    defaults={
                        "name": name,
                        "country": country,
                        "billing_email": f"billing@{slug}.example",
                        "is_enterprise": plan == "enterprise",
                    },
                )
                user, created = User.objects.get_or_create(
                    username=f"owner@{slug}.example", defaults={"email": f"owner@{slug}.example"}
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save()
                Membership.objects.get_or_create(user=user, organisation=org, defaults={"role": MemberRole.owner})
            # Every eighth organisation renews on a test clock a month ahead, with a card that declines.
            # The clock starts when the organisation was made, so a repeated run sends the same request.
            declines = with_clock and index % 8 == 3
            clock_id = None
            if declines:
                clock = self.client.post(
                    "/v1/test_helpers/test_clocks",
                    {"frozen_time": int(org.created_at.timestamp()), "name": f"Renewal of {name}"},
                    idempotency_key=f"demo:clock:{slug}",
                )
                clock_id = clock["id"]
            customer = customer_create(
                organisation=org,
                address={
                    "line1": f"{10 + index} Market Street",
                    "city": city,
                    "postal_code": postal,
                    "country": country,
                },
                locales=[locale],
                tax_exempt="exempt" if index % 21 == 5 else "none",
                test_clock=clock_id,
                write_through=False,
            )
            method = self.attach_payment_method(
                org, customer["id"], methods[(index // len(COUNTRIES) + 1) % len(methods)]
            )
            interval = "year" if index % 3 == 0 else "month"
            seats = self.rng.choice([3, 5, 8, 12, 20, 35, 60, 150]) if plan != "pro" else self.rng.randint(2, 25)
            params: dict = {
                "customer": customer["id"],
                "items": [{"price": prices[(plan, interval, currency)], "quantity": seats}],
                "default_payment_method": method,
                "metadata": {"organisation_id": str(org.pk)},
                "proration_behavior": "create_prorations",
            }
            if plan == "enterprise":
                params.update({"collection_method": "send_invoice", "days_until_due": 30})
                params.pop("default_payment_method")
            if index % 9 == 4:
                params["trial_period_days"] = 14
            try:
                subscription = self.client.post("/v1/subscriptions", params, idempotency_key=f"demo:sub:{slug}")
            except PaymentDeclined:
                continue  # an incomplete first payment is a believable case too
            if declines:
                pass  # below: its renewal declines
            elif index % 11 == 6:
                self.client.post(
                    f"/v1/subscriptions/{subscription['id']}",
                    {"cancel_at_period_end": "true"},
                    idempotency_key=f"demo:sub-cancel-later:{slug}",
                )
            elif index % 13 == 7:
                try:
                    self.client.delete(
                        f"/v1/subscriptions/{subscription['id']}", idempotency_key=f"demo:sub-cancel:{slug}"
                    )
                except InvalidRequest:
                    pass  # canceled by an earlier run (Stripe does not replay DELETEs)
            if declines:
                # A new card that declines becomes the default; the renewal a month later fails and the
                # invoice stays open: the subscription is past due.
                failing = self.client.post(
                    "/v1/payment_methods/pm_card_chargeCustomerFail/attach",
                    {"customer": customer["id"]},
                    idempotency_key=f"demo:failing-card:{slug}",
                )["id"]
                self.client.post(
                    f"/v1/customers/{customer['id']}",
                    {"invoice_settings": {"default_payment_method": failing}},
                    idempotency_key=f"demo:failing-default:{slug}",
                )
                self.client.post(
                    f"/v1/subscriptions/{subscription['id']}",
                    {"default_payment_method": failing},
                    idempotency_key=f"demo:failing-sub-default:{slug}",
                )
                self.client.post(
                    f"/v1/test_helpers/test_clocks/{clock_id}/advance",
                    {"frozen_time": int(org.created_at.timestamp()) + 32 * 86400},
                    idempotency_key=f"demo:clock-advance:{slug}",
                )
            self.stdout.write(f"  {org.name} ({country}, {plan}, {seats} seats, {interval}ly)")

    def attach_payment_method(self, org: Organisation, customer_id: str, kind: str) -> str:
        """Collect a payment method through a SetupIntent, as the self-serve pages do."""
        billing = {"name": org.name, "email": org.billing_email}
        if kind == "us_bank_account":
            data = {
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
            data = {"type": "sepa_debit", "billing_details": billing, "sepa_debit": {"iban": "DE89370400440532013000"}}
        else:
            data = None
        params: dict = {
            "customer": customer_id,
            "usage": "off_session",
            "confirm": "true",
            "payment_method_types": [kind],
        }
        if data is None:
            params["payment_method"] = "pm_card_mastercard" if len(org.slug) % 2 else "pm_card_visa"
        else:
            params["payment_method_data"] = data
            params["mandate_data"] = {"customer_acceptance": {"type": "offline"}}
        setup = self.client.post("/v1/setup_intents", params, idempotency_key=f"demo:setup:{org.slug}")
        method = setup["payment_method"]
        method_id = method if isinstance(method, str) else method["id"]
        self.client.post(
            f"/v1/customers/{customer_id}",
            {"invoice_settings": {"default_payment_method": method_id}},
            idempotency_key=f"demo:default-pm:{org.slug}",
        )
        return method_id

    def write_logins(self) -> None:
        owners = list(Membership.objects.select_related("user", "organisation").order_by("organisation__name")[:3])
        logins = [
            {"username": f"finance-{r}", "password": DEMO_PASSWORD, "role": f"Finance {r}"}
            for r in ("admin", "analyst", "support")
        ]
        logins += [
            {"username": m.user.username, "password": DEMO_PASSWORD, "role": f"Customer owner, {m.organisation.name}"}
            for m in owners
        ]
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        (settings.VAR_DIR / "demo_logins.json").write_text(json.dumps(logins, indent=2))
