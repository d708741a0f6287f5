"""Fraud and disputes in the demo company: open Radar reviews (and two decided), early fraud warnings
(one refunded by the policy, one above it), disputes in every state (a response due in two days,
evidence staged, under review, won, lost, and a history for the outcome charts), a block list.

Everything goes through the portal's services and Stripe's API as in production; only what a card
network or Radar would do (open a review, warn of fraud, open or decide a dispute) uses the sandbox's
test helpers, so this part runs against the sandbox only. A second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Organisation
from billing.currencies.models import FxRate
from billing.currencies.services import fx_rate_set
from billing.risk import blocklist, cases, disputes, evidence, reminders, reviews, warnings
from billing.risk.models import BlockListEntry, DisputeCase, ReviewCase
from billing.stripe import mirror
from billing.stripe.gateway import gateway

# Approximate rates into USD, for the demo's conversions (finance keeps real ones on the FX page).
DEMO_RATES = {
    "eur": "1.08",
    "gbp": "1.27",
    "jpy": "0.0067",
    "krw": "0.00073",
    "kwd": "3.25",
    "aud": "0.66",
    "brl": "0.18",
    "inr": "0.012",
}
DAY = 86400
# (reason, outcome) of past disputes, for the outcome charts: more won on cancellations, lost on fraud.
HISTORY = [
    ("fraudulent", "lost"),
    ("fraudulent", "won"),
    ("fraudulent", "lost"),
    ("subscription_canceled", "won"),
    ("subscription_canceled", "won"),
    ("subscription_canceled", "lost"),
    ("product_not_received", "lost"),
    ("duplicate", "won"),
    ("credit_not_processed", "lost"),
    ("unrecognized", "won"),
]
# One-off payments Radar holds: (card token, IP country, risk score, rule)
REVIEWS = [
    ("pm_card_br", "BR", 78, ":card_country: != :ip_country: and :risk_score: > 65"),
    ("pm_card_ru", "RU", 84, ":risk_score: > 75"),
    ("pm_card_ru", "RU", 81, ":risk_score: > 75"),  # the same card as the one before, another organisation
    ("pm_card_jp", "JP", 66, ":amount_in_usd: > 1000 and :customer_age_days: < 30"),
    ("pm_card_gb", "NL", 70, ":card_country: != :ip_country: and :risk_score: > 65"),
    ("pm_card_in", "IN", 73, ":risk_score: > 65"),
]


class RiskDemo:
    def __init__(self, *, out: Callable[[str], None]):
        self.out = out
        self.client = gateway()
        self.admin = get_user_model().objects.filter(username="finance-admin").first()
        self.used: set[str] = set()

    # --- plumbing ------------------------------------------------------------------------------
    def control(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(  # noqa: S310 (the local sandbox's own routes)
            f"{settings.STRIPE_API_BASE}{path}",
            method="POST",
            data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the local sandbox)
            return json.loads(response.read())

    def through(self, *objects: dict) -> None:
        """Write what Stripe answered into the mirror now (its events follow by webhook)."""
        for obj in objects:
            mirror.apply_object(obj)

    def charge(self, charge_id: str) -> dict:
        return self.client.get(f"/v1/charges/{charge_id}")

    # --- the story ------------------------------------------------------------------------------
    def build(self) -> None:
        if not settings.STRIPE_USES_SANDBOX:
            self.out("fraud and disputes: skipped (the demo's reviews and disputes need the sandbox's test helpers)")
            return
        if self.client.get("/v1/disputes", limit=1)["data"]:
            self.out("fraud and disputes: already in the demo")
            return
        self.rates()
        warnings.policy_set(actor=self.admin, auto_refund=True, refund_below=250_00, block_card=False)
        payers = self.card_payers()
        if len(payers) < 20:
            self.out(f"fraud and disputes: skipped (only {len(payers)} organisations pay by card)")
            return
        self.block_list()
        self.review_queue(payers)
        self.fraud_warnings(payers)
        self.dispute_desk(payers)
        sent = reminders.dispute_reminders_send()
        self.out(
            f"fraud and disputes: {ReviewCase.objects.filter(open=True).count()} open reviews, "
            f"{DisputeCase.objects.count()} disputes, {BlockListEntry.objects.count()} block list entries, "
            f"{sent} reminder{'s' if sent != 1 else ''} mailed"
        )

    def rates(self) -> None:
        if settings.PORTAL_REPORTING_CURRENCY != "usd":
            return
        day = timezone.now().date() - dt.timedelta(days=400)
        for currency, rate in DEMO_RATES.items():
            if not FxRate.objects.filter(currency=currency, quote="usd").exists():
                fx_rate_set(currency=currency, quote="usd", rate=rate, day=day, source="Demo rates (approximate)")

    def card_payers(self) -> list[tuple[Organisation, dict]]:
        """Organisations whose latest payment is a card charge that succeeded, by name: (org, that charge)."""
        latest: dict[str, dict] = {}
        for charge in self.client.list_all("/v1/charges"):
            if charge["customer"] and charge["status"] == "succeeded":
                known = latest.get(charge["customer"])
                if known is None or charge["created"] > known["created"]:
                    latest[charge["customer"]] = charge
        payers = []
        for org in Organisation.objects.filter(stripe_customer_id__in=list(latest)).order_by("name"):
            charge = latest[org.stripe_customer_id]
            if charge["payment_method_details"]["type"] == "card" and not charge["refunded"] and not charge["disputed"]:
                payers.append((org, charge))
        return payers

    def take(self, payers, test) -> tuple[Organisation, dict]:
        for org, charge in payers:
            if org.slug not in self.used and test(org, charge):
                self.used.add(org.slug)
                return org, charge
        raise LookupError("no organisation left for the risk demo")

    def block_list(self) -> None:
        for kind, value, reason in (
            ("email_domain", "tempinbox-signups.example", "Disposable addresses used for trial abuse in March"),
            ("country", "KP", "Sanctions: we cannot sell there"),
            ("email", "chargeback.king@example.net", "Three lost disputes on three organisations"),
        ):
            blocklist.block_entry_add(kind=kind, value=value, reason=reason, actor=self.admin, exist_ok=True)

    def review_queue(self, payers) -> None:
        held = []
        for n, (token, ip_country, score, rule) in enumerate(REVIEWS):
            org, last = self.take(payers, lambda o, c, n=n: o.country.code != "US" or n == 2)
            intent = self.client.post(
                "/v1/payment_intents",
                {
                    "amount": last["amount"] * 3,
                    "currency": last["currency"],
                    "customer": org.stripe_customer_id,
                    "payment_method": token,
                    "confirm": "true",
                    "off_session": "true",
                    "description": "Additional seats (one-off)",
                },
                idempotency_key=f"demo:risk:topup:{org.slug}",
            )
            held.append((org, intent["latest_charge"], ip_country, score, rule))
        time.sleep(1.1)  # Radar's review changes the charge: a later second than its payment (see the mirror)
        opened = []
        for _org, charge_id, ip_country, score, rule in held:
            review = self.control(
                f"/_sandbox/charges/{charge_id}/review",
                {"risk_score": score, "rule": rule, "ip_country": ip_country, "ip_address": _ip(ip_country)},
            )
            self.through(self.charge(charge_id), review)
            opened.append(cases.review_refresh(review["id"]))
        approve, refuse = opened[3], opened[5]
        reviews.review_decide(
            review=approve,
            kind="approve",
            actor=self.admin,
            reason="Known team adding seats; usage and payment history match",
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"demo:approve:{approve.pk}"),
        )
        reviews.review_decide(
            review=refuse,
            kind="refund_block",
            actor=self.admin,
            reason="Card from a leaked list; the owner's email bounces",
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"demo:refuse:{refuse.pk}"),
            block=["card_fingerprint"],
        )

    def fraud_warnings(self, payers) -> None:
        book = _rates()
        small = self.take(payers, lambda o, c: 0 < (book(c) or 0) < 150_00)
        large = self.take(payers, lambda o, c: (book(c) or 0) >= 400_00)
        for _org, charge in (small, large):
            warning = self.control(
                f"/_sandbox/charges/{charge['id']}/early_fraud_warning", {"fraud_type": "made_with_stolen_card"}
            )
            self.through(self.charge(charge["id"]), warning)
            cases.warning_refresh(warning["id"])
            warnings.warning_policy_apply(warning_id=warning["id"])  # the worker does the same on the event

    def dispute_desk(self, payers) -> None:
        now = int(time.time())
        urgent = self.open_dispute(payers, "fraudulent", due_by=now + 2 * DAY + 5 * 3600)
        staged = self.open_dispute(payers, "subscription_canceled", due_by=now + 6 * DAY)
        self.evidence(staged, submit=False)
        reviewing = self.open_dispute(payers, "product_unacceptable", due_by=now + 9 * DAY)
        self.evidence(reviewing, submit=True)
        won = self.open_dispute(payers, "subscription_canceled")
        self.evidence(won, submit=True)
        self.resolve(won, "won")
        lost = self.open_dispute(payers, "fraudulent")
        self.resolve(lost, "lost")
        for reason, outcome in HISTORY:
            try:
                case = self.open_dispute(payers, reason)
            except LookupError:
                break  # a small demo (seed_demo --organisations 20): fewer past disputes
            if outcome == "won":
                self.evidence(case, submit=True)
            self.resolve(case, outcome)
        self.out(f"  disputes: one due {urgent.due_by:%Y-%m-%d %H:%M} UTC, one staged, one under review, won, lost")

    def open_dispute(self, payers, reason: str, due_by: int | None = None) -> DisputeCase:
        org, charge = self.take(payers, lambda o, c: True)
        body = {"reason": reason, **({"due_by": due_by} if due_by else {})}
        dispute = self.control(f"/_sandbox/charges/{charge['id']}/dispute", body)
        self.through(self.charge(charge["id"]), dispute)
        # The evidence is drafted from the customer's invoices: the mirror has them now, not only once
        # the webhooks of the demo's year are applied.
        mirror.apply_page(list(self.client.list_all("/v1/invoices", customer=org.stripe_customer_id)))
        return cases.dispute_refresh(dispute["id"])

    def evidence(self, case: DisputeCase, *, submit: bool) -> None:
        draft = evidence.prefill(case)
        fields = {f.name for f in evidence.fields_for(case.reason) if f.kind != "file"}
        disputes.dispute_evidence_save(
            case=case,
            evidence={k: v for k, v in draft.items() if k in fields},
            submit=submit,
            actor=self.admin,
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"demo:evidence:{case.pk}:{submit}"),
        )

    def resolve(self, case: DisputeCase, outcome: str) -> None:
        dispute = self.control(f"/_sandbox/disputes/{case.pk}/resolve", {"outcome": outcome})
        self.through(dispute)
        cases.dispute_refresh(case.pk)


def _ip(country: str) -> str:
    return {"BR": "177.37.12.9", "RU": "95.165.3.41", "JP": "126.0.44.7", "NL": "145.53.8.20", "IN": "49.36.112.5"}.get(
        country, "203.0.113.7"
    )


def _rates() -> Callable[[dict], int | None]:
    today = timezone.now().date()
    return lambda charge: cases.to_reporting(charge["amount"], charge["currency"], today)
