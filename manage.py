#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from config.env import ConfigError, exit_on_config_error

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018  (load settings now, so a bad variable is one line)
    except ConfigError as error:
        exit_on_config_error(error)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
