from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "billing.payments"
    label = "billing_payments"
    verbose_name = "Payments (charges)"
