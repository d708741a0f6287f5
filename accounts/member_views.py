"""Members of a customer organisation (a page of the billing pages' navigation), and accepting an
invitation from its emailed link. Owners change things; billing admins see who is there."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import members as services
from accounts.access import customer_required, owner_required
from accounts.models import Invitation, MemberRole, Membership


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(label="Role", choices=MemberRole.choices, initial=MemberRole.billing_admin)


@customer_required
def members(request: HttpRequest, membership: Membership) -> HttpResponse:
    if not membership.can_manage_billing:
        raise PermissionDenied("Only your organisation's owners and billing admins see its members")
    return _page(request, membership, InviteForm())


def _page(request, membership: Membership, form, status: int = 200) -> HttpResponse:
    organisation = membership.organisation
    context = {
        "organisation": organisation,
        "membership": membership,
        "members": list(organisation.memberships.select_related("user").order_by("role", "user__username")),
        "invitations": [
            i
            for i in organisation.invitations.select_related("invited_by").filter(
                accepted_at__isnull=True, revoked_at__isnull=True
            )
        ],
        "roles": MemberRole.choices,
        "form": form,
        "is_owner": membership.role == MemberRole.owner,
    }
    return render(request, "accounts/members.html", context, status=status)


@require_POST
@owner_required
def invite(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            services.invitation_create(
                membership=membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                link_for=lambda token: request.build_absolute_uri(reverse("invitation_accept", args=[token])),
            )
        except services.MemberError as error:
            form.add_error("email", str(error))
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("selfserve:members")
    return _page(request, membership, form, status=400)


def _member(membership: Membership, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), pk=pk, organisation=membership.organisation)


@require_POST
@owner_required
def change_role(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    target = _member(membership, pk)
    try:
        target = services.membership_change_role(
            membership=membership, target=target, role=request.POST.get("role", "")
        )
    except services.MemberError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{target.user.get_username()} is now {target.get_role_display().lower()}.")
    return redirect("selfserve:members")


@require_POST
@owner_required
def remove(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    target = _member(membership, pk)
    name = target.user.get_username()
    try:
        services.membership_remove(membership=membership, target=target)
    except services.MemberError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{name} was removed from {membership.organisation.name}.")
        if target.user_id == request.user.pk:
            return redirect("home")
    return redirect("selfserve:members")


@require_POST
@owner_required
def revoke(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk, organisation=membership.organisation)
    services.invitation_revoke(membership=membership, invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} no longer works.")
    return redirect("selfserve:members")


def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: accept as the logged-in person, or make a login and accept."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        raise Http404("No such invitation")
    context: dict = {"invitation": invitation, "error": ""}
    if not invitation.is_open:
        context["error"] = (
            "This invitation has expired or was already used. Ask the person who invited you for a new one."
        )
        return render(request, "accounts/invitation.html", context, status=410)
    user = request.user if request.user.is_authenticated else None
    form = SetPasswordForm(None, request.POST or None) if user is None else None
    if request.method == "POST":
        try:
            if user is not None:
                services.invitation_accept(invitation=invitation, user=user)
            elif form.is_valid():
                user = services.invitation_accept_as_new_user(
                    invitation=invitation, password=form.cleaned_data["new_password1"]
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                return render(request, "accounts/invitation.html", {**context, "form": form}, status=400)
        except services.MemberError as error:
            context["error"] = str(error)
            return render(request, "accounts/invitation.html", {**context, "form": form}, status=400)
        messages.success(request, f"Welcome to {invitation.organisation.name}.")
        return redirect("selfserve:overview")
    context.update(
        form=form,
        has_login=user is None and get_user_model().objects.filter(email__iexact=invitation.email).exists(),
        login_url=f"{reverse('login')}?next={request.path}",
    )
    return render(request, "accounts/invitation.html", context)
