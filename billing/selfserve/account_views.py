"""Invoices (pay an open one with a chosen method; invoiced customers see due dates and bank-transfer
instructions), billing details and tax IDs."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from djstripe.models import Invoice, PaymentMethod

from accounts.access import billing_admin_required
from accounts.models import Membership
from billing.customers import details as details_services
from billing.customers.payment_methods import NotYours
from billing.customers.requests import CustomerRequestError
from billing.invoices.models import ActionKind, ActionStatus
from billing.invoices.services import InvoiceActionError, invoice_action_request
from billing.selfserve import selectors
from billing.selfserve.forms import BillingDetailsForm, TaxIdForm
from billing.selfserve.views import request_id
from taxes.tax_ids import TYPES, TaxIdError


@billing_admin_required
def invoices(request: HttpRequest, membership: Membership) -> HttpResponse:
    context = selectors.invoices_page(organisation=membership.organisation, page=request.GET.get("page"))
    context.update(
        organisation=membership.organisation,
        membership=membership,
        bank_transfer=settings.BANK_TRANSFER_INSTRUCTIONS,
    )
    return render(request, "selfserve/invoices.html", context)


@billing_admin_required
def invoice_pay(request: HttpRequest, membership: Membership, invoice_id: str) -> HttpResponse:
    """Pay an open invoice now, with the method chosen (the default preselected)."""
    organisation = membership.organisation
    invoice = Invoice.mirror.for_customer(organisation.stripe_customer_id).filter(id=invoice_id).first()
    if invoice is None:
        raise Http404("No such invoice")
    data = invoice.stripe_data
    methods = list(PaymentMethod.mirror.for_customer(organisation.stripe_customer_id).order_by("-created"))
    status = 200
    error = ""
    if request.method == "POST":
        rid = request_id(request)
        method = request.POST.get("payment_method", "")
        try:
            if rid is None:
                raise InvoiceActionError("This form is out of date: try again.")
            if data.get("status") != "open":
                raise InvoiceActionError(f"This invoice is {data.get('status')}: there is nothing to pay.")
            if method and not any(m.id == method for m in methods):
                raise Http404("No such payment method")
            action = invoice_action_request(
                invoice=invoice,
                kind=ActionKind.retry,
                actor=request.user,
                reason=f"Paid by {request.user.get_username()} from the billing page",
                request_id=rid,
                form={"payment_method": method} if method else {},
            )
        except InvoiceActionError as refused:
            error, status = str(refused), 400
        else:
            if action.status == ActionStatus.done:
                messages.success(request, f"Thank you: invoice {data.get('number') or invoice.id} is paid.")
                return redirect("selfserve:invoices")
            error, status = action.error or "The payment did not go through.", 402
    customer_default = (
        (organisation.stripe_customer.stripe_data.get("invoice_settings") or {}).get("default_payment_method")
        if organisation.stripe_customer_id and organisation.stripe_customer
        else None
    )
    context = {
        "organisation": organisation,
        "membership": membership,
        "invoice": invoice,
        "methods": methods,
        "chosen": request.POST.get("payment_method") or data.get("default_payment_method") or customer_default,
        "error": error,
        "bank_transfer": settings.BANK_TRANSFER_INSTRUCTIONS,
    }
    return render(request, "selfserve/invoice_pay.html", context, status=status)


@billing_admin_required
def billing_details(request: HttpRequest, membership: Membership) -> HttpResponse:
    organisation = membership.organisation
    context = selectors.details_page(organisation=organisation)
    form = BillingDetailsForm.from_customer(context["customer"])
    status = 200
    if request.method == "POST":
        form = BillingDetailsForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                details_services.billing_details_update(
                    organisation=organisation,
                    name=data["name"],
                    email=data["email"],
                    extra_emails=data["extra_emails"],
                    address={k: data[k] for k in ("line1", "line2", "postal_code", "city", "state", "country")},
                    request_id=request_id(request) or uuid.uuid4(),
                    actor=request.user,
                )
            except CustomerRequestError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Billing details saved. New invoices carry them.")
                return redirect("selfserve:billing_details")
        status = 400
    return _details(request, membership, context, form=form, status=status)


def _details(request, membership, context, *, form=None, tax_form=None, status=200) -> HttpResponse:
    organisation = membership.organisation
    context.update(
        organisation=organisation,
        membership=membership,
        form=form or BillingDetailsForm.from_customer(context["customer"]),
        tax_form=tax_form or TaxIdForm(country=organisation.country.code),
        tax_labels={code: t.label for code, t in TYPES.items()},
    )
    return render(request, "selfserve/details.html", context, status=status)


@require_POST
@billing_admin_required
def tax_id_add(request: HttpRequest, membership: Membership) -> HttpResponse:
    organisation = membership.organisation
    form = TaxIdForm(request.POST, country=organisation.country.code)
    if form.is_valid():
        try:
            tax_id = details_services.tax_id_add(
                organisation=organisation,
                kind=form.cleaned_data["kind"],
                value=form.cleaned_data["value"],
                request_id=request_id(request) or uuid.uuid4(),
                actor=request.user,
            )
        except TaxIdError as error:
            form.add_error("value", str(error))
        except CustomerRequestError as error:
            form.add_error(None, str(error))
        else:
            if tax_id:
                messages.success(
                    request,
                    f"{tax_id['value']} added. Its verification status shows here when the tax authority answers.",
                )
            return redirect("selfserve:billing_details")
    context = selectors.details_page(organisation=organisation)
    return _details(request, membership, context, tax_form=form, status=400)


@require_POST
@billing_admin_required
def tax_id_remove(request: HttpRequest, membership: Membership, tax_id_id: str) -> HttpResponse:
    try:
        details_services.tax_id_remove(
            organisation=membership.organisation,
            tax_id_id=tax_id_id,
            request_id=request_id(request) or uuid.uuid4(),
            actor=request.user,
        )
    except NotYours:
        raise Http404("No such tax ID") from None
    except CustomerRequestError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Tax ID removed.")
    return redirect("selfserve:billing_details")
