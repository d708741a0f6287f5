from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organisations, people and audit"

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401  (audits every Django admin change)
