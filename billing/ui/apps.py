from django.apps import AppConfig


class UIConfig(AppConfig):
    name = "billing.ui"
    label = "billing_ui"
    verbose_name = "Pages: lists, exports, charts, formatting"
