from __future__ import annotations

import json

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from accounts.access import membership_of, staff_role


def demo_logins() -> list[dict]:
    """The demo accounts `seed_demo` made: shown on the login page, only against the sandbox."""
    if not settings.STRIPE_USES_SANDBOX:
        return []
    try:
        return json.loads((settings.VAR_DIR / "demo_logins.json").read_text())
    except (FileNotFoundError, ValueError):
        return []


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, demo_logins=demo_logins())


def locked_out(request: HttpRequest, response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a login it refuses (too many failures): the login page, saying why."""
    context = {
        "form": AuthenticationForm(request, initial={"username": (credentials or {}).get("username", "")}),
        "locked_out_minutes": settings.AXES_COOLOFF_TIME * 60,
        "demo_logins": demo_logins(),
    }
    return render(request, "registration/login.html", context, status=429)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        # Whoever can set a new password may log in with it at once, even if locked out.
        axes_reset(username=form.user.get_username())
        return super().form_valid(form)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if staff_role(request.user):
        return redirect("reports:dashboard")  # the finance landing page: revenue at a glance
    if membership_of(request.user):
        return redirect("selfserve:overview")
    return render(request, "accounts/no_access.html", status=403)


def health(request: HttpRequest) -> JsonResponse:
    """For load balancers: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
