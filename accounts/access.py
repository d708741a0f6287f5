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


def finance_required(*roles: StaffRole):
    """Only finance staff (optionally only some roles) may open the view."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            role = staff_role(request.user)
            if role is None or (roles and role not in roles):
                raise PermissionDenied("This page is for the finance team")
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
