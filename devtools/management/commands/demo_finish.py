"""The demo's last steps, once every Stripe event of the seed is in the mirror (run by `make run`)."""

from django.core.management.base import BaseCommand

from devtools import demo_finance


class Command(BaseCommand):
    help = "Finish the demo after the mirror caught up: FX rates, the ledger rebuilt, worked invoices."

    def handle(self, *args, **options):
        demo_finance.finish(self.stdout.write)
