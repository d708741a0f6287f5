"""Every self-serve page and action × who asks: anonymous, a plain member, a billing admin, an owner,
another organisation's owner, finance staff. Others' objects are 404, never 403; a refusal happens
before anything is written or sent to Stripe."""

import uuid

import pytest
from django.urls import reverse

from accounts.models import AuditLog, Invitation, MemberRole, Membership
from billing.stripe import mirror
from tests.pages import login, mirror_customer

pytestmark = pytest.mark.django_db

SUB, INVOICE, PM, TAX = "sub_cus_acme_0", "in_cus_acme_0_0", "pm_acme_card", "txi_acme_vat"


@pytest.fixture
def acme(people):
    """Acme's customer in the mirror, with a subscription, an invoice, a card and a tax ID; and a
    billing admin and an open invitation."""
    from django.contrib.auth import get_user_model

    mirror_customer("cus_acme")
    mirror_customer("cus_globex")
    mirror.apply_object(
        {"id": PM, "object": "payment_method", "customer": "cus_acme", "type": "card", "created": 1_760_000_000,
         "livemode": False, "metadata": {}, "billing_details": {},
         "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}}
    )  # fmt: skip
    mirror.apply_object(
        {"id": TAX, "object": "tax_id", "customer": "cus_acme", "type": "eu_vat", "value": "DE136695976",
         "country": "DE", "created": 1_760_000_000, "livemode": False,
         "verification": {"status": "verified", "verified_name": "Acme", "verified_address": None}}
    )  # fmt: skip
    admin = get_user_model().objects.create_user(username="billing", email="billing@acme.example", password="x")
    people.billing_admin = admin
    Membership.objects.create(user=admin, organisation=people.acme, role=MemberRole.billing_admin)
    people.invitation = Invitation.objects.create(
        organisation=people.acme, email="new@acme.example", token_hash="0" * 64, expires_at="2099-01-01T00:00Z"
    )
    return people


PAGES = [
    ("selfserve:overview", []),
    ("selfserve:plan", []),
    ("selfserve:payment_methods", []),
    ("selfserve:payment_method_add", []),
    ("selfserve:invoices", []),
    ("selfserve:billing_details", []),
    ("selfserve:members", []),
    ("selfserve:cancel", [SUB]),
    ("selfserve:invoice_pay", [INVOICE]),
]
# Expected status for a page of Acme's (with Acme's object ids, where it takes one).
WHO = {
    None: 302,
    "member": 403,
    "billing_admin": 200,
    "owner": 200,
    "outsider": 404,  # another organisation's owner, asking for Acme's objects
    "admin": 403,
    "analyst": 403,
    "support": 403,
}


@pytest.mark.parametrize("who", list(WHO))
def test_pages(client, acme, who):
    login(client, getattr(acme, who) if who else None)
    wrong = []
    for name, args in PAGES:
        status = client.get(reverse(name, args=args)).status_code
        expected = WHO[who]
        if name == "selfserve:overview" and who == "member":
            expected = 200  # members see the plan
        if who == "outsider" and not args:
            expected = 200  # their own organisation's page
        if status != expected:
            wrong.append((name, status, expected))
    assert wrong == []


def test_the_plan_preview_is_for_billing_admins_of_that_organisation(client, acme):
    url = reverse("selfserve:change_preview", args=[SUB]) + "?price=price_tampered&quantity=3"
    for who, status in [(None, 302), ("member", 403), ("outsider", 404), ("admin", 403), ("support", 403)]:
        login(client, getattr(acme, who) if who else None)
        assert client.get(url).status_code == status, who
        client.logout()
    login(client, acme.owner)
    page = client.get(url)
    assert page.status_code == 400 and b"not one you can choose" in page.content  # refused before Stripe


ACTIONS = [
    ("selfserve:change_confirm", [SUB]),
    ("selfserve:scheduled_cancel", [SUB]),
    ("selfserve:cancel", [SUB]),
    ("selfserve:resume", [SUB]),
    ("selfserve:subscription_payment_method", [SUB]),
    ("selfserve:payment_method_default", [PM]),
    ("selfserve:payment_method_remove", [PM]),
    ("selfserve:tax_id_remove", [TAX]),
    ("selfserve:tax_id_add", []),
    ("selfserve:billing_details", []),
    ("selfserve:payment_method_add", []),
    ("selfserve:payment_method_saved", []),
]


@pytest.mark.parametrize("who", [None, "member", "outsider", "admin", "analyst", "support"])
def test_actions_are_refused_before_anything_happens(client, acme, stripe_calls, who):
    login(client, getattr(acme, who) if who else None)
    before = AuditLog.objects.count()
    data = {"request_id": str(uuid.uuid4()), "payment_method": PM, "kind": "eu_vat", "value": "DE136695976",
            "type": "card", "setup_intent": "seti_x"}  # fmt: skip
    wrong = []
    for name, args in ACTIONS:
        if who == "outsider" and not args:
            continue  # their own organisation: covered by the tests of each page
        status = client.post(reverse(name, args=args), data).status_code
        if status != WHO[who]:
            wrong.append((name, status))
    assert wrong == []
    assert AuditLog.objects.count() == before and stripe_calls == []


MEMBER_ACTIONS = ["selfserve:member_role", "selfserve:member_remove", "selfserve:invitation_revoke"]


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("member", 403), ("billing_admin", 403), ("outsider", 404), ("admin", 403), ("support", 403)],
)
def test_only_owners_change_members(client, acme, who, status):
    login(client, getattr(acme, who) if who else None)
    before = (Membership.objects.count(), Invitation.objects.filter(revoked_at=None).count(), AuditLog.objects.count())
    member = Membership.objects.get(user=acme.member).pk
    for name, target in [*((n, member) for n in MEMBER_ACTIONS[:2]), (MEMBER_ACTIONS[2], acme.invitation.pk)]:
        response = client.post(reverse(name, args=[target]), {"role": "owner"})
        assert response.status_code == status, (name, response.status_code)
    invite = client.post(reverse("selfserve:member_invite"), {"role": "owner", "email": "x@acme.example"})
    assert invite.status_code == (302 if who == "outsider" else status)  # an owner may invite to their own
    if who != "outsider":
        after = (
            Membership.objects.count(),
            Invitation.objects.filter(revoked_at=None).count(),
            AuditLog.objects.count(),
        )
        assert after == before


def test_others_objects_are_404_for_a_billing_admin_too(client, acme):
    from accounts.models import Organisation

    globex = Organisation.objects.get(slug="globex")
    other = Membership.objects.get(organisation=globex)
    login(client, acme.billing_admin)
    assert client.get(reverse("selfserve:cancel", args=["sub_cus_globex_0"])).status_code == 404
    assert client.get(reverse("selfserve:invoice_pay", args=["in_cus_globex_0_0"])).status_code == 404
    login(client, acme.owner)
    assert client.post(reverse("selfserve:member_remove", args=[other.pk])).status_code == 404
    assert client.post(reverse("selfserve:member_role", args=[other.pk]), {"role": "member"}).status_code == 404
