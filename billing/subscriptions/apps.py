from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "billing.subscriptions"
    label = "billing_subscriptions"
    verbose_name = "Subscriptions"
