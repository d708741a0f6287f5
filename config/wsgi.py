import os

from django.core.wsgi import get_wsgi_application

from config.env import ConfigError, exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
try:
    application = get_wsgi_application()
except ConfigError as error:
    exit_on_config_error(error)
