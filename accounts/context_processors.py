from django.conf import settings

from accounts.access import ROLE_ACTIONS, membership_of, staff_role


def portal(request):
    user = getattr(request, "user", None)
    role = staff_role(user) if user is not None else None
    return {
        "STRIPE_USES_SANDBOX": settings.STRIPE_USES_SANDBOX,
        "STRIPE_LIVE_MODE": settings.STRIPE_LIVE_MODE,
        "is_finance": role is not None,
        # `finance_can.invoice_void` in templates: what this user's role allows (actions with _ for .)
        "finance_can": {a.replace(".", "_"): role in roles for a, roles in ROLE_ACTIONS.items()} if role else {},
        "finance_role": role,
        "is_customer": role is None and user is not None and membership_of(user) is not None,
    }
