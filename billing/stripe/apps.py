from django.apps import AppConfig


class StripeGatewayConfig(AppConfig):
    name = "billing.stripe"
    label = "billing_stripe"
    verbose_name = "Stripe gateway and event mirror"

    def ready(self) -> None:
        from billing.stripe.querysets import attach_mirror_managers

        attach_mirror_managers()
