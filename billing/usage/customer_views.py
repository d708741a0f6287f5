"""The customer's usage page (/billing/usage/): this period per meter with the projected charge,
history, fair-billing credits, the charge explainer of their invoices, and their API keys (owners)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from djstripe.models import Invoice

from accounts.access import customer_required
from accounts.models import MemberRole, Membership
from billing.usage import explain, keys, selectors
from billing.usage.charts import daily_charts
from billing.usage.forms import ApiKeyForm
from billing.usage.models import ApiKey


def _is_owner(membership: Membership) -> bool:
    return membership.role == MemberRole.owner


def _context(membership: Membership) -> dict:
    organisation = membership.organisation
    context = selectors.organisation_usage(organisation)
    if not _is_owner(membership):
        context["keys"] = []
    context.update(
        organisation=organisation,
        membership=membership,
        charts=daily_charts(context["series"], context["dates"]),
        with_billing=membership.can_manage_billing,
        is_owner=_is_owner(membership),
        key_form=ApiKeyForm(),
    )
    return context


@customer_required
def usage(request: HttpRequest, membership: Membership) -> HttpResponse:
    return render(request, "usage/customer.html", _context(membership))


@customer_required
def explain_invoice(request: HttpRequest, membership: Membership, invoice_id: str) -> HttpResponse:
    customer_id = membership.organisation.stripe_customer_id
    invoice = Invoice.mirror.real().for_customer(customer_id).filter(id=invoice_id).first()
    if invoice is None:
        raise Http404("No such invoice")
    if not membership.can_manage_billing:
        raise PermissionDenied("Charges are shown to your organisation's owners and billing admins")
    context = {
        "invoice": invoice,
        "organisation": membership.organisation,
        "entries": explain.explain_invoice(invoice),
        "finance": False,
    }
    return render(request, "usage/explain.html", context)


@require_POST
@customer_required
def key_create(request: HttpRequest, membership: Membership) -> HttpResponse:
    if not _is_owner(membership):
        raise PermissionDenied("Only your organisation's owners manage API keys")
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the key a name")
        return redirect("usage_customer:usage")
    key, raw = keys.api_key_create(
        organisation=membership.organisation, name=form.cleaned_data["name"], actor=request.user
    )
    context = _context(membership)
    context.update(new_key=key, new_key_value=raw)
    response = render(request, "usage/customer.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@customer_required
def key_revoke(request: HttpRequest, membership: Membership, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id, organisation=membership.organisation)
    if not _is_owner(membership):
        raise PermissionDenied("Only your organisation's owners manage API keys")
    keys.api_key_revoke(key=key, actor=request.user)
    messages.success(request, f"Key {key.prefix}… revoked.")
    return redirect("usage_customer:usage")
