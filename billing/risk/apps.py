from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "billing.risk"
    label = "billing_risk"
    verbose_name = "Fraud and disputes"

    def ready(self) -> None:
        from billing.risk import receivers  # noqa: F401  (registers the event receivers)
