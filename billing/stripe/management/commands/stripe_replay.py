from django.core.management.base import BaseCommand, CommandError

from billing.stripe import processing, services
from billing.stripe.models import StripeEvent


class Command(BaseCommand):
    help = "Replay events: the given ids, or every failed and dead-lettered one with --failed."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="*")
        parser.add_argument("--failed", action="store_true")
        parser.add_argument("--now", action="store_true", help="Apply in this process instead of queueing.")

    def handle(self, *args, event_ids: list[str], failed: bool, now: bool, **options):
        if failed:
            event_ids = list(StripeEvent.objects.needing_attention().values_list("pk", flat=True))
        if not event_ids:
            raise CommandError("name event ids or pass --failed")
        missing = set(event_ids) - set(StripeEvent.objects.filter(pk__in=event_ids).values_list("pk", flat=True))
        if missing:
            raise CommandError(f"no such event(s): {', '.join(sorted(missing))}")
        if now:
            for event_id in event_ids:
                StripeEvent.objects.filter(pk=event_id).update(status="received")
                self.stdout.write(f"{event_id}: {processing.event_process(event_id=event_id)}")
        else:
            self.stdout.write(f"{services.event_replay(event_ids=event_ids)} event(s) queued")
