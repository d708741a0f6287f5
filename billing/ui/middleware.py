"""Show times in the viewer's time zone: the browser tells it (a cookie set by portal.js); stored
times stay UTC."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.utils import timezone


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class ViewerTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.COOKIES.get("tz", "")
        if name in _known():
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
