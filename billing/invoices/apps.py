from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "billing.invoices"
    label = "billing_invoices"
    verbose_name = "Invoices"
