"""Who may see what: finance staff by role, customers by membership."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from accounts.models import Membership, StaffProfile, StaffRole


def staff_role(user) -> str | None:
    if not user.is_authenticated:
        return None
    try:
        return user.staff_profile.role
    except StaffProfile.DoesNotExist:
        return None


# What each finance role may do, in one place. Views check it (`finance_required(action=...)`),
# templates read it (`finance_can.<action>`), services trust their callers' check.
#   admin    everything
#   analyst  reads everything, exports; moves no money
#   support  reads; resends invoices to customers; nothing else
ALL = {StaffRole.admin, StaffRole.analyst, StaffRole.support}
ADMIN = {StaffRole.admin}
ROLE_ACTIONS: dict[str, set[str]] = {
    "read": ALL,
    "export": {StaffRole.admin, StaffRole.analyst},
    "sql.write": {StaffRole.admin, StaffRole.analyst},
    "invoice.send": {StaffRole.admin, StaffRole.support},
    "invoice.retry": ADMIN,
    "invoice.void": ADMIN,
    "invoice.mark_uncollectible": ADMIN,
    "invoice.credit_note": ADMIN,
    "approval.decide": ADMIN,
    "catalog.edit": ADMIN,
    "fx.edit": ADMIN,
    "event.replay": ADMIN,
    "mirror.repair": ADMIN,
    "dunning.edit": ADMIN,
    "currency.launch": ADMIN,
    "tax.edit": ADMIN,
    "risk.decide": ADMIN,
    "usage.edit": ADMIN,
}


def can(user, action: str) -> bool:
    """May this finance user do `action`? Unknown actions are refused."""
    role = staff_role(user)
    return role is not None and role in ROLE_ACTIONS.get(action, set())


def finance_required(*roles: StaffRole, action: str | None = None):
    """Only finance staff (optionally only some roles, or those allowed `action`) may open the view."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            role = staff_role(request.user)
            if role is None:
                raise PermissionDenied("This page is for the finance team")
            if (roles and role not in roles) or (action and not can(request.user, action)):
                raise PermissionDenied("Your finance role does not allow this")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def membership_of(user) -> Membership | None:
    if not user.is_authenticated:
        return None
    return user.memberships.select_related("organisation").order_by("pk").first()


def customer_required(view):
    """A member of a customer organisation; the membership is passed to the view."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = membership_of(request.user)
        if membership is None:
            raise PermissionDenied("Your login is not a member of a customer organisation")
        return view(request, membership, *args, **kwargs)

    return wrapper


def billing_admin_required(view):
    """An owner or billing admin of a customer organisation (plain members see the plan only)."""

    @customer_required
    @wraps(view)
    def wrapper(request, membership, *args, **kwargs):
        if not membership.can_manage_billing:
            raise PermissionDenied("Only your organisation's owners and billing admins manage billing")
        return view(request, membership, *args, **kwargs)

    return wrapper


def owner_required(view):
    """An owner of a customer organisation."""

    @customer_required
    @wraps(view)
    def wrapper(request, membership, *args, **kwargs):
        if membership.role != "owner":
            raise PermissionDenied("Only your organisation's owners can do this")
        return view(request, membership, *args, **kwargs)

    return wrapper
