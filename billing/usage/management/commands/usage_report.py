"""Report usage to Stripe's meters now (what beat does every minute); safe to run any time, twice."""

from django.core.management.base import BaseCommand

from billing.usage import reporting, services


class Command(BaseCommand):
    help = "Report usage to Stripe's meters now (exactly once: safe to run again after a crash)."

    def add_arguments(self, parser):
        parser.add_argument("--customer", help="Only this Stripe customer (cus_…)")

    def handle(self, *args, customer=None, **options):
        done = reporting.usage_report(customer_id=customer)
        done["corrections"] = services.corrections_send()
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in done.items()))
