"""Stripe-shaped charges, reviews, early fraud warnings and disputes (dahlia), and delivering events
through the real processing path (stored event -> mirror -> receivers)."""

from __future__ import annotations

import datetime as dt
import itertools
import time

from billing.stripe import processing
from billing.stripe.gateway import gateway
from billing.stripe.models import StripeEvent
from tests import stripe_payloads as sp

_ids = itertools.count(1)


def charge(
    id: str,
    *,
    customer: str = "cus_acme",
    amount: int = 5000,
    currency: str = "usd",
    card_country: str = "US",
    fingerprint: str = "Xt5EWLLDS7FJjR1c",
    risk_score: int = 70,
    risk_level: str = "elevated",
    refunded: bool = False,
    disputed: bool = False,
    created: int = 1_760_000_000,
) -> dict:
    return {
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount if refunded else 0,
        "captured": True,
        "created": created,
        "currency": currency,
        "customer": customer,
        "disputed": disputed,
        "livemode": False,
        "metadata": {},
        "paid": True,
        "payment_intent": f"pi_{id[3:]}",
        "payment_method": None,
        "payment_method_details": {
            "type": "card",
            "card": {"brand": "visa", "last4": "4242", "country": card_country, "fingerprint": fingerprint},
        },
        "billing_details": {"email": None, "address": None, "name": None, "phone": None},
        "outcome": {
            "network_status": "approved_by_network",
            "risk_level": risk_level,
            "risk_score": risk_score,
            "rule": {"id": "rule_1", "action": "review", "predicate": ":risk_score: > 65"},
            "type": "manual_review",
            "reason": None,
            "seller_message": "Payment complete.",
        },
        "refunded": refunded,
        "refunds": {"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{id}/refunds"},
        "review": None,
        "status": "succeeded",
        "balance_transaction": None,
        "description": None,
    }


def review(id: str, *, charge_id: str, open: bool = True, closed_reason=None, ip_country="NG", created=1_760_000_000):
    return {
        "id": id,
        "object": "review",
        "billing_zip": None,
        "charge": charge_id,
        "closed_reason": closed_reason,
        "created": created,
        "ip_address": "102.89.1.1",
        "ip_address_location": {
            "city": None,
            "country": ip_country,
            "latitude": None,
            "longitude": None,
            "region": None,
        },
        "livemode": False,
        "open": open,
        "opened_reason": "rule",
        "payment_intent": f"pi_{charge_id[3:]}",
        "reason": "rule" if open else closed_reason,
        "session": None,
    }


def warning(id: str, *, charge_id: str, actionable: bool = True, created=1_760_000_000) -> dict:
    return {
        "id": id,
        "object": "radar.early_fraud_warning",
        "actionable": actionable,
        "charge": charge_id,
        "created": created,
        "fraud_type": "made_with_stolen_card",
        "livemode": False,
        "payment_intent": f"pi_{charge_id[3:]}",
    }


def dispute(
    id: str,
    *,
    charge_id: str,
    status: str = "needs_response",
    amount: int = 5000,
    currency: str = "usd",
    reason: str = "fraudulent",
    due_by: int | None = None,
    created: int = 1_760_000_000,
    submissions: int = 0,
) -> dict:
    return {
        "id": id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_id,
        "created": created,
        "currency": currency,
        "evidence": {"customer_name": None, "uncategorized_text": None},
        "evidence_details": {
            "due_by": due_by or int(time.time()) + 7 * 86400,
            "has_evidence": submissions > 0,
            "past_due": False,
            "submission_count": submissions,
            "enhanced_eligibility": {},
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": f"pi_{charge_id[3:]}",
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "network_reason_code": "10.4"}},
        "reason": reason,
        "status": status,
        "enhanced_eligibility_types": [],
    }


def deliver(obj: dict, event_type: str, at: int, *, event_id: str | None = None) -> str:
    """Store the event as the intake would and process it: mirror, then receivers. Returns its id."""
    evt = sp.event(obj, event_type, created=at, id=event_id or f"evt_risk{next(_ids):012d}")
    StripeEvent.objects.get_or_create(
        id=evt["id"],
        defaults={
            "type": event_type,
            "created": dt.datetime.fromtimestamp(at, dt.UTC),
            "object_type": obj["object"],
            "object_id": obj["id"],
            "payload": evt,
        },
    )
    processing.event_process(event_id=evt["id"])
    return evt["id"]


def next_second() -> None:
    """Wait for the next wall-clock second. The mirror orders one object's events by (second, rank):
    a `charge.updated` in the same second as the charge's `charge.succeeded` ranks below it and is
    taken as older, so tests change a charge they just made only once the second has turned."""
    time.sleep(1.001 - (time.time() % 1))


def pull_events() -> list[str]:
    """Everything the sandbox sent that the portal has not stored yet, through the processing path in
    Stripe's order (what webhooks would have delivered)."""
    listed = list(gateway().list_all("/v1/events"))  # newest first
    known = set(StripeEvent.objects.filter(pk__in=[e["id"] for e in listed]).values_list("pk", flat=True))
    done = []
    for evt in reversed(listed):
        if evt["id"] in known:
            continue
        obj = evt["data"]["object"]
        StripeEvent.objects.create(
            id=evt["id"],
            type=evt["type"],
            api_version=evt["api_version"],
            created=dt.datetime.fromtimestamp(evt["created"], dt.UTC),
            object_type=obj.get("object", ""),
            object_id=obj.get("id", ""),
            payload=evt,
        )
        processing.event_process(event_id=evt["id"])
        done.append(evt["type"])
    return done
