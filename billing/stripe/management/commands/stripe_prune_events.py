from django.conf import settings
from django.core.management.base import BaseCommand

from billing.stripe import services


class Command(BaseCommand):
    help = "Delete applied events older than the retention period (failed and dead ones stay), in batches."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Default: STRIPE_EVENT_RETENTION_DAYS (30).")
        parser.add_argument("--batch", type=int, default=5_000)

    def handle(self, *args, days: int | None, batch: int, **options):
        keep_days = days or settings.STRIPE_EVENT_RETENTION_DAYS
        done = services.events_prune(keep_days=keep_days, batch=batch)
        self.stdout.write(
            f"kept {keep_days} days: deleted {done['events']} event(s) and {done['tombstones']} tombstone(s)"
        )
