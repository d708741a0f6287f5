"""The ingestion API's OpenAPI 3.0 document, served at /api/usage/openapi.json and tested."""

from __future__ import annotations

from django.conf import settings

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def _error_response(description: str, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        response["headers"] = headers
    return response


def document() -> dict:
    max_events = settings.USAGE_MAX_BATCH_EVENTS
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Usage ingestion API",
            "version": "1.0.0",
            "description": (
                "Report product usage for billing. One organisation per API key (`Authorization: Bearer usk_…`, "
                "made by the organisation's owner on its usage page or by finance). Batches of up to "
                f"{max_events} events; each event is idempotent on (organisation, id): a replayed batch changes "
                "nothing. Invalid events are listed in `errors` by index and never stop the valid ones."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/api/usage/events": {
                "post": {
                    "operationId": "ingestUsageEvents",
                    "summary": "Report a batch of usage events",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "The batch was processed; see `errors` for events that were not stored",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outcome"}}},
                        },
                        "400": _error_response("The body is not a batch (malformed JSON, no `events` list)"),
                        "401": _error_response("No API key, or a revoked or unknown one"),
                        "413": _error_response(
                            f"The body is over {settings.USAGE_MAX_BATCH_BYTES} bytes or has over {max_events} events"
                        ),
                        "415": _error_response("The body is not application/json"),
                        "429": _error_response(
                            "The organisation is over its rate; retry after the given seconds",
                            {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                        ),
                        "503": _error_response("Storage is unavailable; nothing was stored, retry the batch"),
                    },
                }
            }
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Batch": {
                    "type": "object",
                    "required": ["events"],
                    "properties": {
                        "events": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": max_events,
                            "items": {"$ref": "#/components/schemas/Event"},
                        }
                    },
                },
                "Event": {
                    "type": "object",
                    "required": ["id", "meter"],
                    "example": {
                        "id": "evt_01J8Z3",
                        "meter": "api_calls",
                        "value": 3,
                        "properties": {"endpoint": "/v1/messages"},
                    },
                    "additionalProperties": False,
                    "properties": {
                        "id": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 100,
                            "description": "Yours; unique per organisation. A repeated id is counted once.",
                        },
                        "organisation": {
                            "type": "string",
                            "description": "Optional: the organisation's slug; must be the key's organisation",
                        },
                        "meter": {"type": "string", "description": "A meter key, e.g. `api_calls`"},
                        "value": {
                            "type": "integer",
                            "minimum": 0,
                            "description": "A whole number ≥ 0; optional for count and active-seat meters (1)",
                        },
                        "timestamp": {
                            "oneOf": [{"type": "integer"}, {"type": "string", "format": "date-time"}],
                            "description": (
                                f"Unix seconds or RFC 3339; default now. At most {settings.USAGE_LATENESS_DAYS} "
                                f"days old and {settings.USAGE_FUTURE_SECONDS} s ahead."
                            ),
                        },
                        "member": {
                            "type": "string",
                            "description": "Active-seat meters only: the email of the member who was active",
                        },
                        "properties": {"type": "object", "maxProperties": 50, "description": "Kept with the event"},
                    },
                },
                "Outcome": {
                    "type": "object",
                    "required": ["received", "accepted", "duplicates", "rejected", "late", "errors"],
                    "properties": {
                        "received": {"type": "integer"},
                        "accepted": {"type": "integer", "description": "Stored now"},
                        "duplicates": {"type": "integer", "description": "Seen before; not counted again"},
                        "rejected": {"type": "integer"},
                        "late": {
                            "type": "integer",
                            "description": "Stored, but their period was already invoiced; finance reviews them",
                        },
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["index", "id", "code", "message"],
                                "properties": {
                                    "index": {"type": "integer"},
                                    "id": {"type": "string", "nullable": True},
                                    "code": {
                                        "type": "string",
                                        "enum": [
                                            "invalid_event",
                                            "invalid_id",
                                            "unknown_field",
                                            "duplicate_in_batch",
                                            "wrong_organisation",
                                            "unknown_meter",
                                            "invalid_value",
                                            "negative_value",
                                            "invalid_timestamp",
                                            "timestamp_in_future",
                                            "timestamp_too_old",
                                            "invalid_properties",
                                            "unknown_member",
                                        ],
                                    },
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "Error": _ERROR,
            },
        },
    }
