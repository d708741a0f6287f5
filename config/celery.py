import os
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler

from config.env import ConfigError, exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("portal")
try:
    from django.conf import settings

    settings.INSTALLED_APPS  # noqa: B018  (a bad variable stops the worker with one line, too)
except ConfigError as error:
    exit_on_config_error(error)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class PortalScheduler(PersistentScheduler):
    """Celery's file-backed beat schedule, kept under PORTAL_VAR_DIR, which may not exist yet on a
    fresh host (nothing else needs it when Redis is the broker): make it first."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()
