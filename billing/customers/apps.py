from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "billing.customers"
    label = "billing_customers"
    verbose_name = "Customers (finance)"

    def ready(self) -> None:
        from billing.customers import receivers  # noqa: F401  (registers the event receivers)
