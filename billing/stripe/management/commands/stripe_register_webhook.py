from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.stripe.errors import StripeGatewayError
from billing.stripe.services import webhook_endpoint_register


class Command(BaseCommand):
    help = "Register the portal's webhook endpoint with Stripe (all events, the pinned API version); keeps its secret."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=None, help="Default: PORTAL_BASE_URL + /stripe/webhook/")

    def handle(self, *args, url: str | None, **options):
        url = url or f"{settings.PORTAL_BASE_URL.rstrip('/')}/stripe/webhook/"
        try:
            endpoint = webhook_endpoint_register(url=url)
        except StripeGatewayError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"{endpoint.stripe_id} -> {endpoint.url} (API version {endpoint.api_version})")
