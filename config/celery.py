import os

from celery import Celery

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
