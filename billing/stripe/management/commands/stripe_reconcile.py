from django.core.management.base import BaseCommand, CommandError

from billing.stripe import sync
from billing.stripe.errors import StripeGatewayError


class Command(BaseCommand):
    help = "Compare the mirror with Stripe and write a drift report; --repair fixes the mirror from Stripe."

    def add_arguments(self, parser):
        parser.add_argument("--types", default="")
        parser.add_argument("--sample", type=int, default=None, help="Check N random mirrored objects per type.")
        parser.add_argument("--repair", action="store_true")

    def handle(self, *args, types: str, sample: int | None, repair: bool, **options):
        chosen = [t.strip() for t in types.split(",") if t.strip()] or None
        unknown = [t for t in chosen or [] if t not in sync.LISTING_BY_TYPE]
        if unknown:
            raise CommandError(f"unknown type(s): {', '.join(unknown)}")
        try:
            report = sync.reconcile(object_types=chosen, sample=sample, repair=repair)
        except StripeGatewayError as error:
            raise CommandError(error.message) from error
        for object_type, counts in report.summary.items():
            self.stdout.write(f"{object_type:<28} " + "  ".join(f"{k} {v}" for k, v in counts.items()))
        self.stdout.write(
            f"drift report #{report.pk}: {report.total_drift} difference(s)" + (", repaired" if repair else "")
        )
