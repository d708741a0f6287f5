from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from billing.stripe import sync
from billing.stripe.errors import StripeGatewayError


class Command(BaseCommand):
    help = "Mirror every object from Stripe through the rate-limited gateway; resumes after an interruption."

    def add_arguments(self, parser):
        parser.add_argument(
            "--types", default="", help=f"Comma-separated; default all: {', '.join(sync.LISTING_BY_TYPE)}"
        )
        parser.add_argument("--restart", action="store_true", help="Forget where earlier runs stopped.")
        parser.add_argument("--page-size", type=int, default=100)

    def handle(self, *args, types: str, restart: bool, page_size: int, **options):
        chosen = [t.strip() for t in types.split(",") if t.strip()] or None
        unknown = [t for t in chosen or [] if t not in sync.LISTING_BY_TYPE]
        if unknown:
            raise CommandError(f"unknown type(s): {', '.join(unknown)}")
        bar = tqdm(unit=" objects", disable=options["verbosity"] == 0)

        def progress(object_type: str, n: int) -> None:
            bar.set_description(object_type)
            bar.update(n)

        try:
            written = sync.backfill(object_types=chosen, restart=restart, page_size=page_size, progress=progress)
        except StripeGatewayError as error:
            raise CommandError(f"{error.message} — run the command again to resume") from error
        finally:
            bar.close()
        for object_type, count in written.items():
            self.stdout.write(f"{object_type:<28} {count:>8} written")
