"""Build the demo company's last year through the portal's domain services (see devtools/demo.py)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Membership, Organisation
from billing.stripe.errors import StripeGatewayError
from devtools import demo_currencies, demo_dunning, demo_sql_reports, demo_taxes, demo_usage
from devtools.demo import DEMO_PASSWORD, DemoBuilder
from devtools.demo_risk import RiskDemo
from devtools.demo_selfserve import SelfServeDemo


class Command(BaseCommand):
    help = "Create the demo company (catalog, staff, organisations with a year of history) through the services."

    def add_arguments(self, parser):
        parser.add_argument("--organisations", type=int, default=64)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if demo data already exists.")
        parser.add_argument("--base-url", default=None, help="The portal's URL, for links the demo prints.")

    def handle(self, *args, organisations: int, if_empty: bool, base_url: str | None = None, **options):
        if not settings.STRIPE_USES_SANDBOX and not settings.STRIPE_SECRET_KEY.startswith(("sk_test_", "rk_test_")):
            raise CommandError("seed_demo only runs against the sandbox or a Stripe test-mode key")
        if if_empty and Organisation.objects.exists():
            demo_sql_reports.build()  # the library follows the code: loaded again (idempotent)
            self.stdout.write("demo data already present")
            return
        out = self.stdout.write if options["verbosity"] else (lambda text: None)
        builder = DemoBuilder(count=organisations, out=out)
        try:
            builder.catalog()
            builder.staff()
            demo_dunning.policies()
            builder.hooks.append(demo_dunning.Episodes())
            demo_currencies.prepare(builder)
            demo_taxes.prepare(builder)
            statuses = demo_taxes.Statuses()
            builder.hooks.append(statuses)
            builder.organisations()
            out(f"taxes: {statuses.summary()}")
            RiskDemo(out=out).build()
            demo_usage.build(builder)
            demo_currencies.build(builder, out)
            extra_logins = SelfServeDemo(out=out, base_url=base_url).build()
            demo_sql_reports.build()
        except StripeGatewayError as error:
            raise CommandError(f"Stripe refused a demo call: {error.message}") from error
        self.write_logins(extra_logins)
        out(self.style.SUCCESS(f"demo data sent: {Organisation.objects.count()} organisations"))

    def write_logins(self, extra: list[dict] | None = None) -> None:
        owners = list(Membership.objects.select_related("user", "organisation").order_by("organisation__name")[:3])
        logins = [
            {"username": f"finance-{r}", "password": DEMO_PASSWORD, "role": f"Finance {r}"}
            for r in ("admin", "analyst", "support")
        ]
        logins[1:1] = demo_currencies.logins(DEMO_PASSWORD)
        special = {login["username"] for login in extra or []}
        logins += [
            {"username": m.user.username, "password": DEMO_PASSWORD, "role": f"Customer owner, {m.organisation.name}"}
            for m in owners
            if m.user.username not in special
        ]
        logins += demo_usage.logins()
        logins += extra or []
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        path = settings.VAR_DIR / "demo_logins.json"
        path.write_text(json.dumps(logins, indent=2))
        path.chmod(0o600)
