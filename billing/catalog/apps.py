from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "billing.catalog"
    label = "billing_catalog"
    verbose_name = "Plan catalog"
