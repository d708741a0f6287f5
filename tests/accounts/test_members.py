"""Owners invite billing admins by email (a one-time link), change roles and remove members; every
change is audited, and an organisation always keeps an owner."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from accounts.models import AuditLog, Invitation, MemberRole, Membership

pytestmark = pytest.mark.django_db


def invite(client, people, email="ada@acme.example", role="billing_admin"):
    client.force_login(people.owner)
    response = client.post(reverse("selfserve:member_invite"), {"email": email, "role": role})
    assert response.status_code == 302, response.content
    link = re.search(r"http://testserver(/invitations/[^/\s]+/)", mail.outbox[-1].body).group(1)
    client.logout()
    return link


def test_an_invited_billing_admin_joins_with_a_new_login(client, people):
    link = invite(client, people)
    message = mail.outbox[0]
    assert message.to == ["ada@acme.example"] and "Acme" in message.subject and "billing admin" in message.body
    assert Invitation.objects.get().token_hash not in message.body  # only the token's hash is stored
    page = client.get(link)
    assert page.status_code == 200 and "Join Acme" in page.content.decode()
    weak = client.post(link, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 400 and not Membership.objects.filter(user__email="ada@acme.example").exists()
    joined = client.post(link, {"new_password1": "a-long-pass-phrase-9", "new_password2": "a-long-pass-phrase-9"})
    assert joined.url == reverse("selfserve:overview")
    membership = Membership.objects.get(user__email="ada@acme.example")
    assert membership.role == MemberRole.billing_admin and membership.organisation == people.acme
    assert client.get(reverse("selfserve:payment_methods")).status_code == 200  # a billing admin, logged in
    client.logout()
    assert client.get(link).status_code == 410  # works once
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == ["member.invite", "member.join"]


def test_an_existing_login_accepts_only_with_the_invited_address(client, people):
    link = invite(client, people, email="outsider-2@example.com")
    client.force_login(people.outsider)  # another address, and already in another organisation
    refused = client.post(link)
    assert refused.status_code == 400 and "was sent to outsider-2@example.com" in refused.content.decode()
    User = get_user_model()
    right = User.objects.create_user(username="o2", email="outsider-2@example.com", password="x")
    client.force_login(right)
    assert client.post(link).status_code == 302
    assert Membership.objects.get(user=right).role == MemberRole.billing_admin


def test_revoked_and_unknown_links_do_not_work(client, people):
    link = invite(client, people)
    client.force_login(people.owner)
    client.post(reverse("selfserve:invitation_revoke", args=[Invitation.objects.get().pk]))
    client.logout()
    assert client.get(link).status_code == 410
    assert client.get("/invitations/not-a-token/").status_code == 404


def test_a_second_invitation_replaces_the_first(client, people):
    first = invite(client, people)
    second = invite(client, people, role="member")
    assert client.get(first).status_code == 410 and client.get(second).status_code == 200
    assert Invitation.objects.filter(revoked_at=None).count() == 1


def test_roles_change_and_members_leave_but_an_owner_stays(client, people):
    client.force_login(people.owner)
    member = Membership.objects.get(user=people.member)
    client.post(reverse("selfserve:member_role", args=[member.pk]), {"role": "billing_admin"})
    member.refresh_from_db()
    assert member.role == MemberRole.billing_admin
    own = Membership.objects.get(user=people.owner)
    demote = client.post(reverse("selfserve:member_role", args=[own.pk]), {"role": "member"}, follow=True)
    assert "at least one owner" in demote.content.decode()
    leave = client.post(reverse("selfserve:member_remove", args=[own.pk]), follow=True)
    assert "at least one owner" in leave.content.decode()
    assert Membership.objects.get(user=people.owner).role == MemberRole.owner
    client.post(reverse("selfserve:member_remove", args=[member.pk]))
    assert not Membership.objects.filter(user=people.member).exists()
    entries = AuditLog.objects.filter(action__startswith="member.").order_by("id")
    assert [(e.action, e.data.get("after") or e.data.get("role")) for e in entries] == [
        ("member.role", "billing_admin"),
        ("member.remove", "billing_admin"),
    ]
    assert all(e.organisation == people.acme and e.actor == people.owner for e in entries)


def test_members_page(client, people):
    client.force_login(people.owner)
    page = client.get(reverse("selfserve:members")).content.decode()
    assert "owner" in page and "member" in page and "Send invitation" in page
    Membership.objects.filter(user=people.member).update(role=MemberRole.billing_admin)
    client.force_login(people.member)
    page = client.get(reverse("selfserve:members")).content.decode()
    assert "Send invitation" not in page and "Remove" not in page  # billing admins see who is there
    bad = client.post(reverse("selfserve:member_invite"), {"email": "x@y.example", "role": "member"})
    assert bad.status_code == 403
