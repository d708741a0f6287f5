from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from djstripe.models import Invoice

from accounts.access import can, finance_required
from billing.invoices import selectors, services
from billing.invoices.filters import InvoiceFilter
from billing.invoices.models import ActionKind, ActionStatus, InvoiceAction
from billing.money import to_decimal
from billing.ui.lists import Column, ListSpec, list_response

# Which finance action each invoice action needs (accounts.access.ROLE_ACTIONS).
PERMISSION = {
    ActionKind.retry: "invoice.retry",
    ActionKind.void: "invoice.void",
    ActionKind.mark_uncollectible: "invoice.mark_uncollectible",
    ActionKind.send: "invoice.send",
    ActionKind.credit_note: "invoice.credit_note",
    ActionKind.paid_out_of_band: "invoice.void",
}


def _csv_row(invoice: Invoice) -> list:
    data = invoice.stripe_data
    currency = data.get("currency") or ""
    organisation = getattr(invoice.customer, "organisation", None) if invoice.customer_id else None
    return [
        invoice.id,
        data.get("number") or "",
        invoice.customer_id or "",
        organisation.name if organisation else "",
        data.get("status") or "",
        currency.upper(),
        to_decimal(data.get("amount_due") or 0, currency) if currency else "",
        to_decimal(data.get("amount_paid") or 0, currency) if currency else "",
        to_decimal(data.get("amount_remaining") or 0, currency) if currency else "",
        data.get("collection_method") or "",
        invoice.created.isoformat() if invoice.created else "",
        selectors.due_date(invoice) or "",
        data.get("attempt_count") or 0,
    ]


INVOICES = ListSpec(
    name="invoices",
    filterset=InvoiceFilter,
    columns=[
        Column("", sort=None),
        Column("Invoice", sort="number"),
        Column("Customer"),
        Column("Status"),
        Column("Amount due", sort="amount", num=True),
        Column("Created", sort="created"),
        Column("Due", sort="due"),
        Column(""),
    ],
    sorts={
        "created": ("created",),
        "number": ("stripe_data__number",),
        "amount": ("stripe_data__amount_due",),
        "due": ("stripe_data__due_date",),
    },
    default_sort="-created",
    results_template="invoices/_results.html",
    csv_header=[
        "invoice_id",
        "number",
        "customer_id",
        "organisation",
        "status",
        "currency",
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "collection_method",
        "created",
        "due_date",
        "attempts",
    ],
    csv_row=_csv_row,
    decorate=selectors.invoice_rows,
    depends_on=("djstripe.Invoice", "djstripe.Customer", "accounts.Organisation"),
)


@finance_required()
def invoice_list(request: HttpRequest) -> HttpResponse:
    context = {
        "bulk_kinds": [(k.value, k.label) for k in services.BULK_KINDS if can(request.user, PERMISSION[k])],
        "request_id": uuid.uuid4(),
    }
    return list_response(
        request, INVOICES, selectors.invoice_search(), page_template="invoices/list.html", context=context
    )


@finance_required()
def invoice_detail(request: HttpRequest, invoice_id: str) -> HttpResponse:
    context = selectors.invoice_detail(invoice_id=invoice_id)
    if context is None:
        raise Http404("No such invoice in the mirror")
    invoice = context["invoice"]
    context["actions_available"] = [
        (kind, kind.label)
        for kind in ActionKind
        if services.allowed(invoice, kind) and can(request.user, PERMISSION[kind])
    ]
    return render(request, "invoices/detail.html", context)


@finance_required()
def invoice_act(request: HttpRequest, invoice_id: str, kind: str) -> HttpResponse:
    """GET: what the action will do, with a reason to give; POST: do it (or ask a second admin)."""
    if kind not in ActionKind.values:
        raise Http404("No such action")
    if not can(request.user, PERMISSION[kind]):
        raise PermissionDenied("Your finance role does not allow this")
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), id=invoice_id)
    if request.method == "POST":
        try:
            request_id = uuid.UUID(request.POST.get("request_id", ""))
        except ValueError:
            messages.error(request, "This form has expired; open it again.")
            return redirect("invoices:detail", invoice_id)
        form = {
            "payment_method": request.POST.get("payment_method", ""),
            "lines": _quantities(request.POST),
            "settle": request.POST.get("settle", ""),
            "credit_reason": request.POST.get("credit_reason", ""),
            "memo": request.POST.get("memo", ""),
        }
        try:
            action = services.invoice_action_request(
                invoice=invoice,
                kind=kind,
                actor=request.user,
                reason=request.POST.get("reason", ""),
                request_id=request_id,
                form=form,
            )
        except services.InvoiceActionError as error:
            messages.error(request, str(error))
            return render(request, "invoices/act.html", _act_context(invoice, kind, request.POST), status=400)
        _report(request, action)
        return redirect("invoices:detail", invoice_id)
    if not services.allowed(invoice, kind):
        messages.error(request, f"“{ActionKind(kind).label}” does not apply to this invoice now.")
        return redirect("invoices:detail", invoice_id)
    return render(request, "invoices/act.html", _act_context(invoice, kind, {}))


def _quantities(post) -> dict[str, int]:
    quantities = {}
    for key, value in post.items():
        if key.startswith("line:") and value.strip():
            try:
                quantities[key[5:]] = int(value)
            except ValueError:
                quantities[key[5:]] = -1  # refused by the service with a message
    return quantities


def _act_context(invoice: Invoice, kind: str, posted) -> dict:
    return {
        **selectors.invoice_detail(invoice_id=invoice.id),
        "kind": ActionKind(kind),
        "request_id": posted.get("request_id") or uuid.uuid4(),
        "posted": posted,
        "payment_methods": selectors.payment_methods_of(invoice),
        "credit_reasons": services.CREDIT_REASONS,
        "needs_approval": services.needs_approval(
            kind, invoice.stripe_data.get("amount_remaining") or 0, invoice.stripe_data.get("currency") or ""
        ),
    }


def _report(request: HttpRequest, action: InvoiceAction) -> None:
    if action.status == ActionStatus.done:
        messages.success(request, f"{action.get_kind_display()}: done.")
    elif action.status == ActionStatus.failed:
        messages.error(request, f"Stripe refused: {action.error}")
    elif action.status == ActionStatus.awaiting_approval:
        messages.info(request, "Above the approval threshold: a second finance admin must approve it.")
    else:
        messages.info(request, f"{action.get_kind_display()}: {action.get_status_display().lower()}.")


@require_POST
@finance_required()
def invoice_bulk(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    if kind not in [k.value for k in services.BULK_KINDS]:
        messages.error(request, "Choose retry or send.")
        return redirect("invoices:list")
    if not can(request.user, PERMISSION[kind]):
        raise PermissionDenied("Your finance role does not allow this")
    ids = request.POST.getlist("invoice")[:500]
    invoices = list(Invoice.objects.filter(id__in=ids))
    if not invoices:
        messages.error(request, "Select at least one invoice.")
        return redirect("invoices:list")
    try:
        done = services.invoice_bulk(
            invoices=invoices,
            kind=kind,
            actor=request.user,
            reason=request.POST.get("reason", ""),
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, request.POST.get("request_id", "") or str(uuid.uuid4())),
        )
    except services.InvoiceActionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{done['queued']} invoice(s) queued.")
        if done["skipped"]:
            messages.warning(request, f"Not applicable, left alone: {', '.join(done['skipped'][:20])}")
    return redirect(
        request.POST.get("back") if str(request.POST.get("back", "")).startswith("/invoices/") else "invoices:list"
    )


@finance_required()
def approvals(request: HttpRequest) -> HttpResponse:
    return render(request, "invoices/approvals.html", selectors.approvals())


@require_POST
@finance_required(action="approval.decide")
def approval_decide(request: HttpRequest, action_id: int) -> HttpResponse:
    action = get_object_or_404(InvoiceAction, pk=action_id)
    try:
        action = services.invoice_action_decide(
            action=action,
            actor=request.user,
            approve=request.POST.get("decision") == "approve",
            note=request.POST.get("note", ""),
        )
    except services.InvoiceActionError as error:
        messages.error(request, str(error))
    else:
        _report(request, action)
    return redirect("invoices:approvals")
