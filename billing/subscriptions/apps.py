from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "billing.subscriptions"
    label = "billing_subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        from billing.subscriptions import receivers  # noqa: F401  (registers the event receivers)
