"""The product's ingestion API: `POST /api/usage/events` and its OpenAPI document.

Every answer is JSON, errors included (`{"error": {"code", "message"}}`); a batch that was read
answers 200 with a per-event error list. Nothing here sets a session or a cookie.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing.usage import ingest, keys, openapi, ratelimit

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _too_large() -> JsonResponse:
    return _error(413, "too_large", f"The body may be at most {settings.USAGE_MAX_BATCH_BYTES} bytes")


@csrf_exempt
def events(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return _error(405, "method_not_allowed", "POST a batch of events", Allow="POST")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "invalid_batch", "Content-Length is not a number")
    if length > settings.USAGE_MAX_BATCH_BYTES:
        return _too_large()
    key = keys.authenticate(request.headers.get("Authorization", ""))
    if key is None:
        return _error(
            401, "unauthorized", "Send a live API key: Authorization: Bearer usk_…", WWW_Authenticate="Bearer"
        )
    if request.content_type != "application/json":
        return _error(415, "unsupported_media_type", "Send the batch as application/json")
    try:
        body = request.body
    except RequestDataTooBig:
        return _too_large()
    if len(body) > settings.USAGE_MAX_BATCH_BYTES:
        return _too_large()
    try:
        batch = json.loads(body)
    except (ValueError, RecursionError):
        return _error(400, "invalid_json", "The body is not valid UTF-8 JSON")
    raw_events = batch.get("events") if isinstance(batch, dict) else None
    if not isinstance(raw_events, list) or not raw_events:
        return _error(400, "invalid_batch", 'The body must be {"events": [...]} with at least one event')
    if len(raw_events) > settings.USAGE_MAX_BATCH_EVENTS:
        return _error(
            413, "too_many_events", f"A batch may hold at most {settings.USAGE_MAX_BATCH_EVENTS} events; split it"
        )
    organisation = key.organisation
    wait = ratelimit.take(organisation.pk, len(raw_events))
    if wait:
        return _error(
            429,
            "rate_limited",
            f"Over {settings.USAGE_RATE_PER_ORG} events per second for this organisation; retry in {wait} s",
            Retry_After=str(wait),
        )
    try:
        outcome = ingest.ingest(organisation, raw_events)
    except DatabaseError:
        log.exception("usage batch for organisation %s not stored", organisation.pk)
        return _error(503, "unavailable", "Usage storage is unavailable; nothing was stored, retry", Retry_After="5")
    return JsonResponse(outcome.as_json())


def schema(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi.document(), json_dumps_params={"ensure_ascii": False})
