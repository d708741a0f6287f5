"""How errors are shown: secrets never on a debug page."""

from __future__ import annotations

from django.views.debug import SafeExceptionReporterFilter


class SecretsHiddenFilter(SafeExceptionReporterFilter):
    """Django's filter, active with DEBUG on too: `make run` shows debug pages, and a webhook
    secret in a traceback's locals (`@sensitive_variables`) must not be one of the things they show."""

    def is_active(self, request) -> bool:
        return True
