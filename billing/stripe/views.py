from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.stripe import intake

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's deliveries: verify, store once, answer at once; a worker applies it."""
    try:
        event, is_new = intake.event_receive(body=_body(request), signature=request.headers.get("Stripe-Signature"))
    except intake.IntakeError as error:
        log.info("webhook refused: %s", error.reason)
        return JsonResponse({"error": {"type": error.reason, "message": error.message}}, status=400)
    return JsonResponse({"received": True, "duplicate": not is_new})


def _body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise intake.refused("too_large", f"Body is larger than {limit} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)") from None


@csrf_exempt
@require_POST
def bare(request: HttpRequest) -> JsonResponse:
    """Benchmarks only (PORTAL_BENCH_VIEWS=1): reads the body, answers like the intake, does nothing."""
    request.body  # noqa: B018
    return JsonResponse({"received": True, "duplicate": False})


def bare_page(request: HttpRequest) -> HttpResponse:
    """Benchmarks only: a page through the same middleware (session, login) that does nothing."""
    if not request.user.is_authenticated:
        return HttpResponse(status=302)
    return HttpResponse("<!doctype html><title>bare</title><p>bare</p>")
