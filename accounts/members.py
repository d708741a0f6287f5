"""Who belongs to a customer organisation: owners invite people by email (a one-time link sent
through Django's email backend), change their roles and remove them. Every change is audited.

Roles: owners manage members and billing; billing admins manage billing; members see the plan.
An organisation always keeps at least one owner.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.audit import audit
from accounts.models import Invitation, MemberRole, Membership

INVITATION_DAYS = 7


class MemberError(ValueError):
    """A change to members the portal refuses; the message is for people."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _owner(membership: Membership) -> None:
    if membership.role != MemberRole.owner:
        raise MemberError("Only owners can manage members.")


def _role(role: str) -> str:
    if role not in MemberRole.values:
        raise MemberError("Choose owner, billing admin or member.")
    return role


def _last_owner(target: Membership) -> bool:
    return (
        target.role == MemberRole.owner
        and not Membership.objects.filter(organisation=target.organisation, role=MemberRole.owner)
        .exclude(pk=target.pk)
        .exists()
    )


@transaction.atomic
def invitation_create(*, membership: Membership, email: str, role: str, link_for: Callable[[str], str]) -> Invitation:
    """Invite `email` to the inviter's organisation as `role`, replacing an open invitation to the same address."""
    _owner(membership)
    role = _role(role)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise MemberError("Enter the email address to send the invitation to.") from None
    organisation = membership.organisation
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
        raise MemberError(f"{email} is already a member of {organisation.name}.")
    now = timezone.now()
    replaced = Invitation.objects.filter(
        organisation=organisation, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    try:
        invitation = Invitation.objects.create(
            organisation=organisation,
            email=email,
            role=role,
            token_hash=token_hash(token),
            invited_by=membership.user,
            expires_at=now + dt.timedelta(days=INVITATION_DAYS),
        )
    except IntegrityError:  # the same invitation sent twice at once
        raise MemberError(f"An invitation to {email} was just sent.") from None
    context = {
        "invitation": invitation,
        "inviter": membership.user,
        "organisation": organisation,
        "link": link_for(token),
        "role": invitation.get_role_display(),
    }
    send_mail(
        subject=f"{organisation.name}: you are invited to manage billing"
        if role != MemberRole.member
        else f"{organisation.name}: you are invited to join",
        message=render_to_string("accounts/invitation_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )
    audit(
        membership.user,
        "member.invite",
        invitation,
        organisation=organisation,
        email=email,
        role=role,
        replaced=replaced,
    )
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    if not token or len(token) > 100:
        return None
    return Invitation.objects.select_related("organisation", "invited_by").filter(token_hash=token_hash(token)).first()


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise MemberError("This invitation has expired or was already used. Ask for a new one.")
    if (user.email or "").lower() != invitation.email:
        raise MemberError(f"This invitation was sent to {invitation.email}; log in with that address to accept it.")
    other = Membership.objects.filter(user=user).exclude(organisation=invitation.organisation).first()
    if other is not None:
        raise MemberError(f"Your login already belongs to {other.organisation.name}; accept with another address.")
    membership, created = Membership.objects.get_or_create(
        user=user, organisation=invitation.organisation, defaults={"role": invitation.role}
    )
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit(
        user,
        "member.join",
        invitation,
        organisation=invitation.organisation,
        email=invitation.email,
        role=membership.role,
        invited_by=invitation.invited_by.get_username() if invitation.invited_by else None,
    )
    return membership


def invitation_accept_as_new_user(*, invitation: Invitation, password: str):
    """Make the invited person's login (their email is the username), then accept."""
    User = get_user_model()
    if (
        User.objects.filter(username__iexact=invitation.email).exists()
        or User.objects.filter(email__iexact=invitation.email).exists()
    ):
        raise MemberError(f"There is already a login for {invitation.email}: log in, then open the link again.")
    with transaction.atomic():
        user = User.objects.create_user(username=invitation.email, email=invitation.email, password=password)
        invitation_accept(invitation=invitation, user=user)
    return user


@transaction.atomic
def invitation_revoke(*, membership: Membership, invitation: Invitation) -> None:
    _owner(membership)
    if invitation.organisation_id != membership.organisation_id:
        raise MemberError("That invitation is not your organisation's.")
    if invitation.accepted_at or invitation.revoked_at:
        return
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit(
        membership.user,
        "member.invite.revoke",
        invitation,
        organisation=membership.organisation,
        email=invitation.email,
    )


@transaction.atomic
def membership_change_role(*, membership: Membership, target: Membership, role: str) -> Membership:
    _owner(membership)
    role = _role(role)
    target = Membership.objects.select_for_update().select_related("user").get(pk=target.pk)
    if target.organisation_id != membership.organisation_id:
        raise MemberError("That person is not in your organisation.")
    if target.role == role:
        return target
    if role != MemberRole.owner and _last_owner(target):
        raise MemberError("An organisation needs at least one owner: make someone else owner first.")
    before = target.role
    target.role = role
    target.save(update_fields=["role"])
    audit(
        membership.user,
        "member.role",
        target,
        organisation=membership.organisation,
        member=target.user.get_username(),
        before=before,
        after=role,
    )
    return target


@transaction.atomic
def membership_remove(*, membership: Membership, target: Membership) -> None:
    _owner(membership)
    target = Membership.objects.select_for_update().select_related("user").get(pk=target.pk)
    if target.organisation_id != membership.organisation_id:
        raise MemberError("That person is not in your organisation.")
    if _last_owner(target):
        raise MemberError("An organisation needs at least one owner: make someone else owner first.")
    audit(
        membership.user,
        "member.remove",
        target,
        organisation=membership.organisation,
        member=target.user.get_username(),
        role=target.role,
    )
    target.delete()
