from django.apps import AppConfig


class SqlReportsConfig(AppConfig):
    name = "billing.sql_reports"
    label = "sql_reports"
    verbose_name = "SQL reports"

    def ready(self) -> None:
        from billing.sql_reports import guard

        guard.install()
