from django.apps import AppConfig


class SelfServeConfig(AppConfig):
    name = "billing.selfserve"
    label = "billing_selfserve"
    verbose_name = "Self-serve billing"
