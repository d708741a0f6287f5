"""How errors are shown and logged: secrets never on a debug page, a refused request in one line."""

from __future__ import annotations

import logging

from django.views.debug import SafeExceptionReporterFilter


class SecretsHiddenFilter(SafeExceptionReporterFilter):
    """Django's filter, active with DEBUG on too: `make run` shows debug pages, and a webhook
    secret in a traceback's locals (`@sensitive_variables`) must not be one of the things they show."""

    def is_active(self, request) -> bool:
        return True


class RefusedRequestFilter(logging.Filter):
    """A 4xx (a 403 from an access rule, a 404) is routine: its log line carries no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 0) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
