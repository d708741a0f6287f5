from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "billing.dunning"
    label = "billing_dunning"
    verbose_name = "Dunning"

    def ready(self) -> None:
        from billing.dunning import entitlements, receivers  # noqa: F401  (registers receivers)
