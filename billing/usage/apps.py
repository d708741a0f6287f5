from django.apps import AppConfig
from django.db.models.signals import post_migrate


class UsageConfig(AppConfig):
    name = "billing.usage"
    label = "billing_usage"
    verbose_name = "Usage-based billing"

    def ready(self) -> None:
        from billing.usage import receivers  # noqa: F401  (registers the event receivers)
        from billing.usage.schema import partition_after_migrate

        post_migrate.connect(partition_after_migrate, sender=self, dispatch_uid="billing.usage.partition")
