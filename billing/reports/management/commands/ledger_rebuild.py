from django.core.management.base import BaseCommand
from djstripe.models import Charge, Refund, Subscription
from tqdm import tqdm

from billing.reports import rebuild


class Command(BaseCommand):
    help = "Rebuild the MRR and payment ledgers (and the dashboard's monthly totals) from the mirror."

    def add_arguments(self, parser):
        parser.add_argument("--only", choices=["mrr", "payments"], default=None)

    def handle(self, *args, only: str | None, **options):
        quiet = options["verbosity"] == 0
        if only in (None, "mrr"):
            with tqdm(total=Subscription.objects.count(), unit=" subscriptions", disable=quiet) as bar:
                movements = rebuild.rebuild_mrr(progress=bar.update)
            self.stdout.write(f"MRR ledger: {movements} movements")
        if only in (None, "payments"):
            with tqdm(total=Charge.objects.count() + Refund.objects.count(), unit=" payments", disable=quiet) as bar:
                facts = rebuild.rebuild_payments(progress=bar.update)
            self.stdout.write(f"payments: {facts} facts")
