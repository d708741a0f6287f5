from django.apps import AppConfig


class StripeGatewayConfig(AppConfig):
    name = "billing.stripe"
    label = "billing_stripe"
    verbose_name = "Stripe gateway and event mirror"
