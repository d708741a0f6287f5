"""The customer's billing pages: the overview, and the plan — change plan, seats or billing
frequency with Stripe's preview, cancel at the end of the period, resume, the payment method each
subscription is charged to. Owners and billing admins act; members see the overview only."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from djstripe.models import Invoice, Price

from accounts.access import billing_admin_required, customer_required
from accounts.models import Membership
from billing.selfserve import selectors
from billing.subscriptions import changes
from billing.subscriptions.models import ChangeStatus, SubscriptionChange
from billing.subscriptions.policy import POLICY
from billing.subscriptions.services import (
    SubscriptionError,
    subscription_set_cancel_at_period_end,
    subscription_set_payment_method,
)

PREVIEW_SALT = "selfserve.change-preview"


def request_id(request: HttpRequest) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.POST.get("request_id", ""))
    except ValueError:
        return None


@customer_required
def overview(request: HttpRequest, membership: Membership) -> HttpResponse:
    """A customer's billing page: the plan for every member; payment methods, invoices and billing
    details for owners and billing admins."""
    context = selectors.billing_overview(
        organisation=membership.organisation, with_billing=membership.can_manage_billing
    )
    context.update(organisation=membership.organisation, membership=membership)
    return render(request, "selfserve/overview.html", context)


@billing_admin_required
def plan(request: HttpRequest, membership: Membership) -> HttpResponse:
    context = selectors.plan_page(organisation=membership.organisation)
    context.update(organisation=membership.organisation, membership=membership, policy=POLICY)
    return render(request, "selfserve/plan.html", context)


def _subscription(membership: Membership, subscription_id: str):
    subscription = selectors.subscription_of(membership.organisation, subscription_id)
    if subscription is None:
        raise Http404("No such subscription")
    return subscription


@billing_admin_required
def change_preview(request: HttpRequest, membership: Membership, subscription_id: str) -> HttpResponse:
    """Stripe's preview of the chosen plan and seats. A fragment for the live preview (htmx), a page otherwise."""
    subscription = _subscription(membership, subscription_id)
    fragment = request.headers.get("HX-Request") == "true"
    item = ((subscription.stripe_data.get("items") or {}).get("data") or [{}])[0]
    price_id = request.GET.get("price") or (item.get("price") or {}).get("id", "")
    quantity = request.GET.get("quantity") or item.get("quantity") or 1
    context = {
        "organisation": membership.organisation,
        "membership": membership,
        "subscription": subscription,
        "policy": POLICY,
        "price_id": price_id,
        "quantity": quantity,
    }
    status = 200
    try:
        preview = changes.preview(
            organisation=membership.organisation, subscription=subscription, price_id=price_id, quantity=quantity
        )
    except SubscriptionError as error:
        context["error"] = str(error)
        status = 200 if fragment else 400
    else:
        token = signing.dumps(
            {
                "s": subscription.id,
                "p": preview.target.new.price_id,
                "q": preview.target.new.quantity,
                "t": preview.proration_date,
                "a": preview.amount,
                "f": [preview.target.current.price_id, preview.target.current.quantity],
            },
            salt=PREVIEW_SALT,
        )
        context.update(preview=preview, token=token)
    if fragment:
        return render(request, "selfserve/_preview.html", context, status=status)
    plan_context = selectors.plan_page(organisation=membership.organisation)
    row = next((r for r in plan_context["rows"] if r.subscription.id == subscription.id), None)
    context.update(row=row)
    return render(request, "selfserve/change.html", context, status=status)


@require_POST
@billing_admin_required
def change_confirm(request: HttpRequest, membership: Membership, subscription_id: str) -> HttpResponse:
    subscription = _subscription(membership, subscription_id)
    again = reverse("selfserve:change_preview", args=[subscription.id])
    try:
        signed = signing.loads(request.POST.get("token", ""), salt=PREVIEW_SALT, max_age=changes.PREVIEW_TTL_SECONDS)
    except signing.SignatureExpired:
        messages.warning(request, "That preview was more than 15 minutes old: here is a fresh one.")
        return redirect(f"{again}?price={request.POST.get('price', '')}&quantity={request.POST.get('quantity', '')}")
    except signing.BadSignature:
        messages.error(request, "That preview could not be read. Choose the plan again.")
        return redirect("selfserve:plan")
    rid = request_id(request)
    if signed.get("s") != subscription.id or rid is None:
        messages.error(request, "That preview is for another subscription. Choose the plan again.")
        return redirect("selfserve:plan")
    item = ((subscription.stripe_data.get("items") or {}).get("data") or [{}])[0]
    if (
        signed.get("f") != [(item.get("price") or {}).get("id"), item.get("quantity")]
        and not SubscriptionChange.objects.filter(request_id=rid).exists()
    ):
        messages.warning(request, "Your plan changed since this preview: here is a fresh one.")
        return redirect(f"{again}?price={signed['p']}&quantity={signed['q']}")
    try:
        row = changes.apply(
            organisation=membership.organisation,
            subscription=subscription,
            price_id=signed["p"],
            quantity=signed["q"],
            proration_date=signed["t"],
            request_id=rid,
            previewed_amount=signed.get("a"),
            actor=request.user,
        )
    except SubscriptionError as error:
        messages.error(request, str(error))
        if "expired" in str(error):
            return redirect(f"{again}?price={signed['p']}&quantity={signed['q']}")
        return redirect("selfserve:plan")
    return redirect("selfserve:change_result", pk=row.pk)


@billing_admin_required
def change_result(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """What came of a change: applied with its invoice, scheduled for the renewal, or Stripe's refusal."""
    row = get_object_or_404(SubscriptionChange, pk=pk, organisation=membership.organisation)
    invoice = Invoice.objects.filter(id=row.invoice_id).first() if row.invoice_id else None
    prices = {p.id: p for p in Price.objects.filter(id__in=[row.from_price_id, row.to_price_id])}
    context = {
        "organisation": membership.organisation,
        "membership": membership,
        "change": row,
        "invoice": invoice,
        "from_price": prices.get(row.from_price_id),
        "to_price": prices.get(row.to_price_id),
        "failed": row.status == ChangeStatus.failed,
    }
    return render(request, "selfserve/change_result.html", context)


@require_POST
@billing_admin_required
def scheduled_cancel(request: HttpRequest, membership: Membership, subscription_id: str) -> HttpResponse:
    subscription = _subscription(membership, subscription_id)
    rid = request_id(request)
    if rid is None:
        messages.error(request, "This form is out of date: try again.")
        return redirect("selfserve:plan")
    try:
        changes.cancel_scheduled(
            organisation=membership.organisation, subscription=subscription, request_id=rid, actor=request.user
        )
    except SubscriptionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The scheduled change is canceled: your plan renews as it is.")
    return redirect("selfserve:plan")


@billing_admin_required
def cancel(request: HttpRequest, membership: Membership, subscription_id: str) -> HttpResponse:
    """Confirm, then cancel at the end of the paid period."""
    subscription = _subscription(membership, subscription_id)
    if request.method == "POST":
        return _set_cancel(
            request,
            membership,
            subscription,
            cancel=True,
            done="Your plan will end at the end of the paid period. You can resume it until then.",
        )
    plan_context = selectors.plan_page(organisation=membership.organisation)
    row = next((r for r in plan_context["rows"] if r.subscription.id == subscription.id), None)
    if row is None or not row.live:
        raise Http404("No such subscription")
    context = {
        "organisation": membership.organisation,
        "membership": membership,
        "row": row,
    }
    return render(request, "selfserve/cancel.html", context)


@require_POST
@billing_admin_required
def resume(request: HttpRequest, membership: Membership, subscription_id: str) -> HttpResponse:
    subscription = _subscription(membership, subscription_id)
    return _set_cancel(
        request, membership, subscription, cancel=False, done="Your plan continues: it renews as before."
    )


def _set_cancel(request: HttpRequest, membership: Membership, subscription, *, cancel: bool, done: str):
    """Cancel at period end, or resume: one request each (its key goes to Stripe), then back to the plan."""
    rid = request_id(request)
    try:
        if rid is None:
            raise SubscriptionError("This form is out of date: try again.")
        subscription_set_cancel_at_period_end(
            organisation=membership.organisation,
            subscription=subscription,
            cancel=cancel,
            request_id=rid,
            actor=request.user,
        )
    except SubscriptionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect("selfserve:plan")


@require_POST
@billing_admin_required
def subscription_payment_method(request: HttpRequest, membership: Membership, subscription_id: str) -> HttpResponse:
    subscription = _subscription(membership, subscription_id)
    rid = request_id(request)
    method = request.POST.get("payment_method", "")
    try:
        if rid is None:
            raise SubscriptionError("This form is out of date: try again.")
        subscription_set_payment_method(
            organisation=membership.organisation,
            subscription=subscription,
            payment_method_id=method,
            request_id=rid,
            actor=request.user,
        )
    except SubscriptionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Saved: the next invoices of this plan are charged to the method you chose.")
    if request.POST.get("next") == "payment_methods":
        return redirect("selfserve:payment_methods")
    return redirect("selfserve:plan")
