from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

from accounts.signals import UpdateSignallingQuerySet


class Organisation(models.Model):
    """A paying customer (a team or an enterprise): one Stripe customer."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    country = CountryField()
    billing_email = models.EmailField()
    # A real relation to the mirrored customer, so lists join organisations and Stripe data in one
    # query. No database constraint: the customer row arrives by event, after Stripe created it.
    stripe_customer = models.OneToOneField(
        "djstripe.Customer",
        to_field="id",
        db_column="stripe_customer_id",
        db_constraint=False,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="organisation",
    )
    is_enterprise = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = UpdateSignallingQuerySet.as_manager()  # update()s reach the list cache, as saves do

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MemberRole(models.TextChoices):
    owner = "owner", "Owner"
    billing_admin = "billing_admin", "Billing admin"
    member = "member", "Member"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=MemberRole.choices, default=MemberRole.member)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organisation"], name="membership_user_org")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation} ({self.role})"

    @property
    def can_manage_billing(self) -> bool:
        return self.role in (MemberRole.owner, MemberRole.billing_admin)


class Invitation(models.Model):
    """An owner asked someone to join their organisation. The link's token is mailed once and kept
    here only as its SHA-256; it works once, until `expires_at`, unless revoked."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=MemberRole.choices, default=MemberRole.billing_admin)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.organisation} ({self.role})"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class StaffRole(models.TextChoices):
    admin = "admin", "Finance admin"
    analyst = "analyst", "Analyst"
    support = "support", "Support"


class StaffProfile(models.Model):
    """A member of the finance team. Admins may change things; analysts and support read."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    role = models.CharField(max_length=20, choices=StaffRole.choices)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class AuditLog(models.Model):
    """Every action a person (or the system on their behalf) took. Append-only: on PostgreSQL a
    trigger refuses UPDATE and DELETE (migration 0003), so the relations below never change a row
    either — a deleted user or organisation leaves its id and the actor's username in place."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    actor_username = models.CharField(max_length=150, blank=True, help_text="Kept when the user is deleted")
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=255, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["organisation", "-created_at"], name="audit_org_created"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_id}"
