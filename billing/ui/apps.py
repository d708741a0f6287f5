from django.apps import AppConfig


class UIConfig(AppConfig):
    name = "billing.ui"
    label = "billing_ui"
    verbose_name = "Pages: lists, exports, charts, formatting"

    def ready(self) -> None:
        from billing.ui import listcache

        listcache.connect()
