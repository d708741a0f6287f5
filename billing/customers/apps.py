from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "billing.customers"
    label = "billing_customers"
    verbose_name = "Customers (finance)"
