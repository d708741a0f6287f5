from django.apps import AppConfig


class CurrenciesConfig(AppConfig):
    name = "billing.currencies"
    label = "billing_currencies"
    verbose_name = "Currencies"
