from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "billing.invoices"
    label = "billing_invoices"
    verbose_name = "Invoices"

    def ready(self) -> None:
        from billing.invoices import receivers  # noqa: F401  (registers the event receivers)
