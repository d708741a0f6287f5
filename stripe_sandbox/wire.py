"""Stripe's wire format: form-encoded or JSON parameters, `expand[]`, API keys, error responses."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
from urllib.parse import parse_qsl

from aiohttp import web
from localstripe.server import unflatten_data  # localstripe's parser of Stripe's form encoding
from multidict import MultiDict

from .core import SandboxError, State, Upload, copy_of
from .routing import PUBLISHABLE_OK, public


def error_response(error: SandboxError, request_id: str) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers={"Request-Id": request_id})


def parse_params(request: web.Request, body: bytes) -> dict:
    if request.method == "GET" or request.method == "DELETE":
        return unflatten_data(request.query) if request.query else {}
    if not body:
        return {}
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("application/json"):
        try:
            return json.loads(body)
        except ValueError:
            raise SandboxError(400, "Invalid JSON body.") from None
    if content_type.startswith("multipart/form-data"):
        return unflatten_data(multipart_fields(content_type, body))
    return unflatten_data(MultiDict(parse_qsl(body.decode(), keep_blank_values=True)))


def multipart_fields(content_type: str, body: bytes) -> MultiDict:
    """The parts of a multipart/form-data body: text values, and `Upload`s for file parts."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise SandboxError(400, "The multipart/form-data body could not be read.")
    fields: MultiDict = MultiDict()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            fields.add(name, Upload(filename, payload, part.get_content_type()))
        else:
            fields.add(name, payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return fields


def expand(state: State, obj, paths: list[str]):
    """Replace ids with objects along each `a.b.c` path (`data.` walks a list's items)."""
    for path in paths:
        obj = _expand_path(state, obj, path.split("."))
    return obj


def _expand_path(state: State, value, parts: list[str]):
    if not parts:
        return value
    if isinstance(value, list):
        return [_expand_path(state, v, parts) for v in value]
    if not isinstance(value, dict):
        return value
    head, rest = parts[0], parts[1:]
    if head not in value:
        return value
    target = value[head]
    if isinstance(target, str) and target in state.objects:
        target = public(copy_of(state.objects[target]))
    value = dict(value)
    value[head] = _expand_path(state, target, rest)
    return value


def authenticate(request: web.Request, func) -> str:
    header = request.headers.get("Authorization", "")
    key = header[7:] if header.startswith("Bearer ") else ""
    if header.startswith("Basic "):
        key = base64.b64decode(header[6:]).decode(errors="replace").split(":")[0]
    if not key and request.method == "POST":
        key = request.query.get("key", "")
    if key.startswith(("sk_test_", "rk_test_")):
        return key
    if key.startswith("pk_test_") and func in PUBLISHABLE_OK:
        return key
    if key.startswith(("sk_live_", "rk_live_", "pk_live_")):
        raise SandboxError(401, "The sandbox only accepts test-mode keys (sk_test_…).", type="invalid_request_error")
    raise SandboxError(
        401, "You did not provide an API key. Use `Authorization: Bearer sk_test_…`.", type="invalid_request_error"
    )
