"""The sandbox's state: objects in Stripe's shapes, events, webhook endpoints, idempotency, faults.

Every object starts from Stripe's own example of its type (shapes/templates.json, MIT, from
Stripe's OpenAPI repository) with its values neutralised, then takes the sandbox's values: so each
object has at least the keys Stripe's has.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import string
import threading
import time
from pathlib import Path

TEMPLATES = json.loads((Path(__file__).parent / "shapes" / "templates.json").read_text())

PREFIXES = {
    "account": "acct",
    "product": "prod",
    "price": "price",
    "customer": "cus",
    "tax_id": "txi",
    "payment_method": "pm",
    "setup_intent": "seti",
    "subscription": "sub",
    "subscription_item": "si",
    "subscription_schedule": "sub_sched",
    "invoice": "in",
    "line_item": "il",
    "invoiceitem": "ii",
    "payment_intent": "pi",
    "charge": "ch",
    "refund": "re",
    "dispute": "dp",
    "review": "prv",
    "radar.early_fraud_warning": "issfr",
    "radar.value_list": "rsl",
    "radar.value_list_item": "rsli",
    "file": "file",
    "tax_rate": "txr",
    "tax.registration": "taxreg",
    "billing.meter": "mtr",
    "billing.meter_event": "mev",
    "test_helpers.test_clock": "clock",
    "webhook_endpoint": "we",
    "event": "evt",
    "mandate": "mandate",
    "balance_transaction": "txn",
    "invoice_payment": "inpay",
    "billing.meter_event_summary": "mtrusg",
    "credit_note": "cn",
    "credit_note_line_item": "cnli",
    "customer_balance_transaction": "cbtxn",
}


def new_id(object_type: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return f"{PREFIXES.get(object_type, 'obj')}_1{''.join(random.choices(alphabet, k=23))}"


def _neutral(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return 0
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        if value.get("object") == "list":
            return {"object": "list", "data": [], "has_more": False, "url": value.get("url") or ""}
        return None
    return None


def make(object_type: str, **fields) -> dict:
    """A new object of `object_type`: Stripe's example with neutral values, then `fields`."""
    template = TEMPLATES.get(object_type, {})
    obj = {key: _neutral(value) for key, value in template.items()}
    obj.update({"object": object_type, "livemode": False})
    if "metadata" in template:
        obj["metadata"] = {}
    obj.update(fields)
    return obj


class SandboxError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        **extra,
    ):
        super().__init__(message)
        self.status = status
        self.error = {
            "type": type,
            "message": message,
            **({"code": code} if code else {}),
            **({"param": param} if param else {}),
            **extra,
        }

    def body(self) -> dict:
        return {"error": self.error}


class Upload:
    """A file part of a multipart/form-data request (the files API). Printed, it names its content,
    so a repeated idempotency key with another file is told apart."""

    def __init__(self, filename: str, content: bytes, content_type: str = ""):
        self.filename = filename
        self.content = content
        self.content_type = content_type
        self.sha256 = hashlib.sha256(content).hexdigest()

    def __str__(self) -> str:
        return f"<file {self.filename!r} {len(self.content)} bytes sha256={self.sha256}>"


def missing(object_type: str, object_id: str, param: str = "id") -> SandboxError:
    return SandboxError(
        404, f"No such {object_type.replace('_', ' ')}: '{object_id}'", code="resource_missing", param=param
    )


class State:
    """All objects, by id and by type (in creation order). Guarded by one lock: handlers are short."""

    def __init__(self, api_version: str, path: Path | None = None):
        self.api_version = api_version
        self.path = path
        self.lock = threading.RLock()
        self.objects: dict[str, dict] = {}
        self.order: dict[str, list[str]] = {}
        self.secrets: dict[str, str] = {}  # webhook endpoint id -> secret
        self.idempotency: dict[str, tuple[str, int, dict]] = {}
        self.invoice_counter = 0
        self.faults = {"rate_limit": False, "error_rate": 0.0, "timeout_rate": 0.0, "latency_ms": 0}
        self.dirty = False
        self.account = make(
            "account",
            id="acct_1Sandbox000000000000000",
            country="US",
            default_currency="usd",
            email="finance@portal.example",
            type="standard",
            charges_enabled=True,
            payouts_enabled=True,
            details_submitted=True,
            created=1_700_000_000,
            business_profile={
                "name": "Billing portal sandbox",
                "url": None,
                "mcc": None,
                "support_email": None,
                "support_phone": None,
                "support_url": None,
                "product_description": None,
                "support_address": None,
            },
            settings=None,
        )
        if path and path.exists():
            self.load()

    # --- storage ----------------------------------------------------------------------------
    def add(self, obj: dict) -> dict:
        with self.lock:
            if obj["id"] not in self.objects:
                self.order.setdefault(obj["object"], []).append(obj["id"])
            self.objects[obj["id"]] = obj
            self.dirty = True
        return obj

    def get(self, object_id: str, object_type: str, param: str = "id") -> dict:
        obj = self.objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or obj["object"] != object_type or obj.get("deleted"):
            raise missing(object_type, str(object_id), param)
        return obj

    def remove(self, object_id: str) -> None:
        with self.lock:
            obj = self.objects.pop(object_id, None)
            if obj is not None:
                self.order[obj["object"]].remove(object_id)
                self.dirty = True

    def all(self, object_type: str) -> list[dict]:
        return [self.objects[i] for i in self.order.get(object_type, []) if i in self.objects]

    def reset(self) -> None:
        with self.lock:
            self.objects.clear()
            self.order.clear()
            self.secrets.clear()
            self.idempotency.clear()
            self.invoice_counter = 0
            self.dirty = True

    def save(self) -> None:
        if not self.path:
            return
        with self.lock:
            data = {
                "objects": self.objects,
                "order": self.order,
                "secrets": self.secrets,
                "invoice_counter": self.invoice_counter,
            }
            tmp = self.path.with_suffix(".tmp")
            # Webhook secrets are in it: readable by this user only, from the first byte written.
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
                os.fchmod(out.fileno(), 0o600)  # an older tmp file keeps its mode through O_CREAT
                out.write(json.dumps(data))
            tmp.replace(self.path)
            self.dirty = False

    def load(self) -> None:
        data = json.loads(self.path.read_text())
        self.objects = data["objects"]
        self.order = data["order"]
        self.secrets = data["secrets"]
        self.invoice_counter = data.get("invoice_counter", 0)

    # --- time ---------------------------------------------------------------------------------
    def now(self, customer_id: str | None = None) -> int:
        """Real time, or the frozen time of the customer's test clock."""
        if customer_id:
            customer = self.objects.get(customer_id)
            clock_id = customer and customer.get("test_clock")
            if clock_id and clock_id in self.objects:
                return self.objects[clock_id]["frozen_time"]
        return int(time.time())


def copy_of(obj):
    return copy.deepcopy(obj)
