from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "billing.reports"
    label = "billing_reports"
    verbose_name = "Metrics and reports"

    def ready(self) -> None:
        from billing.reports import receivers  # noqa: F401  (registers the event receivers)
