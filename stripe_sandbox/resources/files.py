"""The files API: `POST /v1/files` (multipart/form-data, on Stripe's files host) with a purpose, each
purpose with the types and size Stripe accepts; retrieve and list."""

from __future__ import annotations

import time

from ..core import SandboxError, Upload, make, new_id
from ..routing import Api, check, need, readable, route

MB = 1024 * 1024
# https://docs.stripe.com/file-upload: purpose -> (accepted types, largest size, days before it expires)
PURPOSES = {
    "account_requirement": ({"pdf", "jpg", "png"}, 16 * MB, None),
    "additional_verification": ({"pdf", "jpg", "png"}, 16 * MB, None),
    "business_icon": ({"jpg", "png", "gif"}, 512 * 1024, None),
    "business_logo": ({"jpg", "png", "gif"}, 512 * 1024, None),
    "customer_signature": ({"jpg", "png", "svg"}, 4 * MB, 7),
    "dispute_evidence": ({"pdf", "jpg", "png"}, 5 * MB, 9 * 30),
    "identity_document": ({"pdf", "jpg", "png"}, 16 * MB, None),
    "tax_document_user_upload": ({"pdf", "jpg", "png", "csv"}, 16 * MB, None),
}
NAMES = {"pdf": "PDF", "jpg": "JPEG", "png": "PNG", "gif": "GIF", "svg": "SVG", "csv": "CSV"}


def sniff(content: bytes) -> str | None:
    """The file's type from its first bytes, as Stripe reads it (the name and declared type don't count)."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    head = content[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "svg"
    return None


@route("POST", "/v1/files")
def file_create(api: Api, params: dict) -> dict:
    check(params, {"purpose", "file", "file_link_data"})
    purpose = need(params, "purpose")
    if purpose not in PURPOSES:
        raise SandboxError(400, f"Invalid purpose: must be one of {', '.join(sorted(PURPOSES))}", param="purpose")
    upload = params.get("file")
    if not isinstance(upload, Upload):
        raise SandboxError(
            400,
            "Missing required param: file. Send the file as a multipart/form-data part named `file`.",
            code="parameter_missing",
            param="file",
        )
    types, largest, expires_days = PURPOSES[purpose]
    kind = sniff(upload.content)
    if kind not in types:
        accepted = ", ".join(name for t, name in NAMES.items() if t in types)
        found = NAMES.get(kind or "", "an unrecognised type")
        raise SandboxError(
            400,
            f"The file you uploaded is {found}; files with purpose `{purpose}` must be {accepted}.",
            code="file_type_invalid" if kind is None else "file_type_unsupported",
            param="file",
        )
    if len(upload.content) > largest:
        raise SandboxError(
            400,
            f"The file you uploaded is {len(upload.content):,} bytes; files with purpose `{purpose}` can be at "
            f"most {largest // MB if largest >= MB else largest // 1024} {'MB' if largest >= MB else 'KB'} "
            f"({largest:,} bytes).",
            code="file_too_large",
            param="file",
        )
    now = int(time.time())
    file_id = new_id("file")
    return api.state.add(
        make(
            "file",
            id=file_id,
            created=now,
            expires_at=now + expires_days * 86400 if expires_days else None,
            filename=upload.filename or file_id,
            purpose=purpose,
            size=len(upload.content),
            title=None,
            type=kind,
            url=f"{api.base_url}/v1/files/{file_id}/contents",
            links={"object": "list", "data": [], "has_more": False, "url": f"/v1/file_links?file={file_id}"},
            _sha256=upload.sha256,
        )
    )


readable("file", "/v1/files", filters=("purpose",))
