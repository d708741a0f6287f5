"""The demo's self-serve stories, after the year of every organisation (see devtools/demo.py):

- an organisation with a downgrade waiting for its renewal (a Stripe subscription schedule);
- one with two subscriptions charged to two payment methods (its card, and a US bank account);
- a German one paying by SEPA Direct Debit (its mandate kept), with a verified EU VAT number;
- a British one with a Bacs Direct Debit and a UK VAT number;
- an invitation to a billing admin, whose link the demo prints.

Everything goes through the services the pages use; only what the browser does (Stripe.js confirming
a SetupIntent) goes to the gateway directly. Keys come from the demo's names, so a second run changes
nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings
from django.test.utils import override_settings
from django.urls import reverse
from djstripe.models import Price, Subscription

from accounts.members import invitation_create
from accounts.models import Invitation, MemberRole, Membership, Organisation
from billing.customers.details import tax_id_add
from billing.customers.models import CustomerRequest
from billing.customers.payment_methods import setup_finish, setup_start
from billing.customers.requests import CustomerRequestError
from billing.stripe import mirror
from billing.stripe.gateway import gateway
from billing.subscriptions import changes
from billing.subscriptions.models import SubscriptionChange
from billing.subscriptions.services import SubscriptionError, subscription_create, subscription_set_payment_method

VAT = {"DE": ("eu_vat", "DE136695976"), "GB": ("gb_vat", "GB980156121")}


def key(*parts: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, "demo-selfserve:" + ":".join(parts))


class SelfServeDemo:
    def __init__(self, *, out: Callable[[str], None], base_url: str | None = None):
        self.out = out
        self.client = gateway()
        self.base_url = (base_url or settings.PORTAL_BASE_URL).rstrip("/")
        self.logins: list[dict] = []
        self.used: set[int] = set()

    def build(self) -> list[dict]:
        candidates = []
        for org in Organisation.objects.exclude(stripe_customer_id=None).order_by("name"):
            subs = [
                s
                for s in self.client.list_all("/v1/subscriptions", customer=org.stripe_customer_id)
                if s["status"] == "active" and s["collection_method"] == "charge_automatically"
            ]
            if subs:
                candidates.append((org, subs))
        self.pending_downgrade(candidates)
        self.two_subscriptions(candidates)
        self.bank_debit(candidates, "DE", "sepa_debit")
        self.bank_debit(candidates, "GB", "bacs_debit")
        return self.logins

    # --- helpers ----------------------------------------------------------------------------------
    def pick(self, candidates, test, *, done: Callable[[Organisation], bool]) -> tuple[Organisation, dict] | None:
        """The organisation a story happened to on an earlier run (`done`), else the first that fits."""
        for org, subs in candidates:
            if org.pk not in self.used and done(org):
                self.used.add(org.pk)
                self.refresh(org, subs[0])
                return org, subs[0]
        for org, subs in candidates:
            if org.pk in self.used:
                continue
            for sub in subs:
                if test(org, sub):
                    self.used.add(org.pk)
                    self.refresh(org, sub)
                    return org, sub
        return None

    @staticmethod
    def started(org: Organisation, kind: str) -> bool:
        return CustomerRequest.objects.filter(request_id=key(org.slug, "setup", kind)).exists()

    def refresh(self, org: Organisation, sub: dict) -> None:
        """What the events will bring anyway, now: the customer and the subscription as Stripe has them."""
        mirror.apply_object(self.client.get(f"/v1/customers/{org.stripe_customer_id}"))
        mirror.apply_object(sub)

    def login(self, org: Organisation, story: str) -> None:
        owner = Membership.objects.filter(organisation=org, role=MemberRole.owner).select_related("user").first()
        if owner:
            self.logins.append(
                {
                    "username": owner.user.username,
                    "password": "demo-portal-2026",
                    "role": f"Customer owner, {org.name} ({story})",
                }
            )

    def add_method(self, org: Organisation, kind: str, *, make_default: bool) -> str | None:
        setup = setup_start(organisation=org, method_type=kind, request_id=key(org.slug, "setup", kind))
        billing = {"name": org.name, "email": org.billing_email, "address": {"country": org.country.code}}
        acceptance = {"type": "online", "online": {"ip_address": "127.0.0.1", "user_agent": "demo"}}
        data = {
            "us_bank_account": {
                "type": "us_bank_account",
                "billing_details": billing,
                "us_bank_account": {"routing_number": "110000000", "account_number": "000123456789",
                                    "account_holder_type": "company", "account_type": "checking"},
            },
            "sepa_debit": {"type": "sepa_debit", "billing_details": billing,
                           "sepa_debit": {"iban": "DE89370400440532013000"}},
            "bacs_debit": {"type": "bacs_debit", "billing_details": billing,
                           "bacs_debit": {"sort_code": "108800", "account_number": "00012345"}},
        }[kind]  # fmt: skip
        if setup["status"] != "succeeded":
            params = {"payment_method_data": data, "mandate_data": {"customer_acceptance": acceptance}}
            if kind == "us_bank_account":
                params["payment_method_options"] = {"us_bank_account": {"verification_method": "instant"}}
            self.client.post(
                f"/v1/setup_intents/{setup['id']}/confirm", params, idempotency_key=f"demo:confirm:{setup['id']}"
            )
        outcome = setup_finish(organisation=org, setup_intent_id=setup["id"], make_default=make_default)
        return (outcome.payment_method or {}).get("id")

    # --- stories ----------------------------------------------------------------------------------
    def pending_downgrade(self, candidates) -> None:
        def business_monthly(org, sub):
            item = sub["items"]["data"][0]
            price = item["price"]
            return (
                not sub["cancel_at_period_end"]
                and price["recurring"]["interval"] == "month"
                and (price.get("metadata") or {}).get("plan") == "business"
                and item["quantity"] >= 4
                and not sub.get("schedule")
            )

        picked = self.pick(
            candidates,
            business_monthly,
            done=lambda org: SubscriptionChange.objects.filter(request_id=key(org.slug, "downgrade")).exists(),
        )
        if picked is None:
            return
        org, sub = picked
        request_id = key(org.slug, "downgrade")
        if not SubscriptionChange.objects.filter(request_id=request_id).exists():
            item = sub["items"]["data"][0]
            pro = Price.objects.filter(lookup_key=f"pro_monthly_{item['price']['currency']}").first()
            if pro is None:
                return
            subscription = Subscription.objects.get(id=sub["id"])
            seats = max(2, item["quantity"] * 2 // 3)
            try:
                preview = changes.preview(organisation=org, subscription=subscription, price_id=pro.id, quantity=seats)
                row = changes.apply(
                    organisation=org, subscription=subscription, price_id=pro.id, quantity=seats,
                    proration_date=preview.proration_date, request_id=request_id, previewed_amount=preview.amount,
                )  # fmt: skip
            except SubscriptionError as error:
                self.out(f"  (no pending downgrade: {error})")
                return
            self.out(f"  {org.name}: Business+ → Pro × {seats} scheduled for {row.effective_at:%Y-%m-%d}")
        self.login(org, "downgrade scheduled")

    def two_subscriptions(self, candidates) -> None:
        def card_paid(org, sub):
            method = sub.get("default_payment_method")
            return (
                org.country.code == "US"
                and not sub["cancel_at_period_end"]
                and bool(method)
                and self.client.get(f"/v1/payment_methods/{method}")["type"] == "card"
            )

        picked = self.pick(candidates, card_paid, done=lambda org: self.started(org, "us_bank_account"))
        if picked is None:
            return
        org, sub = picked
        ach = self.add_method(org, "us_bank_account", make_default=False)
        if ach is None:
            return
        annual = Price.objects.filter(lookup_key="business_yearly_usd").first()
        if annual:
            subscription_create(
                organisation=org, price_id=annual.id, quantity=5, request_key="demo-second-workspace",
                payment_method_id=ach,
            )  # fmt: skip
        self.out(f"  {org.name}: a second subscription, charged to its US bank account")
        self.login(org, "two subscriptions, two payment methods")
        self.invite(org)

    def bank_debit(self, candidates, country: str, kind: str) -> None:
        picked = self.pick(
            candidates,
            lambda org, sub: org.country.code == country and not sub["cancel_at_period_end"],
            done=lambda org: self.started(org, kind),
        )
        if picked is None:
            return
        org, sub = picked
        method = self.add_method(org, kind, make_default=True)
        if method and sub.get("default_payment_method"):
            subscription_set_payment_method(  # the plan follows the organisation's default: now the bank debit
                organisation=org,
                subscription=Subscription.objects.get(id=sub["id"]),
                payment_method_id="",
                request_id=key(org.slug, "follow-default"),
            )
        kind_vat, number = VAT[country]
        try:
            tax_id_add(organisation=org, kind=kind_vat, value=number, request_id=key(org.slug, "vat"))
        except CustomerRequestError:
            pass  # already on file (a second run)
        self.out(f"  {org.name}: {kind.replace('_', ' ')} with its mandate, VAT number {number}")
        self.login(org, "SEPA mandate and VAT ID" if kind == "sepa_debit" else "Bacs Direct Debit and VAT ID")

    def invite(self, org: Organisation) -> None:
        email = f"billing-admin@{org.slug}.example"
        if Invitation.objects.filter(organisation=org, email=email).exists():
            return
        owner = Membership.objects.filter(organisation=org, role=MemberRole.owner).first()
        if owner is None:
            return
        links: list[str] = []

        def link_for(token: str) -> str:
            links.append(f"{self.base_url}{reverse('invitation_accept', args=[token])}")
            return links[-1]

        # The email is kept in memory, not printed amid the demo's output: the link is printed instead.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            invitation_create(membership=owner, email=email, role=MemberRole.billing_admin, link_for=link_for)
        self.out(f"  {org.name}: {email} invited as billing admin — accept at {links[0]}")
