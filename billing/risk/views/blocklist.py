from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import can, finance_required
from billing.risk import blocklist, selectors
from billing.risk.errors import RiskError
from billing.risk.filters import BlockFilter
from billing.risk.models import BlockKind, BlockListEntry
from billing.risk.views.common import back, with_defaults
from billing.ui.lists import Column, ListSpec, list_response


def _csv_row(entry: BlockListEntry) -> list:
    return [
        entry.kind,
        entry.value,
        entry.reason,
        entry.source,
        entry.created_by.get_username() if entry.created_by else "",
        entry.created_at.isoformat(),
        entry.removed_at.isoformat() if entry.removed_at else "",
        entry.sync_status,
        entry.hits,
    ]


BLOCKLIST = ListSpec(
    name="risk_blocklist",
    filterset=BlockFilter,
    columns=[
        Column("Kind", sort="kind"),
        Column("Value", sort="value"),
        Column("Why"),
        Column("Added", sort="created"),
        Column("Radar"),
        Column("Stopped", sort="hits", num=True),
        Column(""),
    ],
    sorts={"created": ("created_at",), "kind": ("kind", "value"), "value": ("value",), "hits": ("hits",)},
    default_sort="-created",
    results_template="risk/_blocklist.html",
    csv_header=["kind", "value", "reason", "source", "added_by", "added_at", "removed_at", "radar", "stopped"],
    csv_row=_csv_row,
)


@finance_required()
def blocklist_page(request: HttpRequest) -> HttpResponse:
    with_defaults(request, state="active")
    context = {
        "tab": "blocklist",
        "can_decide": can(request.user, "risk.decide"),
        "kinds": BlockKind.choices,
        "aliases": {kind: alias for kind, (alias, _, _) in blocklist.RADAR_LISTS.items()},
        "form_values": request.session.pop("risk_block_form", {}),
    }
    return list_response(
        request, BLOCKLIST, selectors.block_entries(), page_template="risk/blocklist.html", context=context
    )


@require_POST
@finance_required(action="risk.decide")
def blocklist_add(request: HttpRequest) -> HttpResponse:
    kind, value, reason = (request.POST.get(k, "") for k in ("kind", "value", "reason"))
    try:
        entry = blocklist.block_entry_add(kind=kind, value=value, reason=reason, actor=request.user)
    except RiskError as error:
        messages.error(request, str(error))
        digits = "".join(ch for ch in value if ch.isdigit())
        keep = "" if len(digits) >= 12 else value[:254]  # a pasted card number is never kept, not even in a session
        request.session["risk_block_form"] = {"kind": kind, "value": keep, "reason": reason[:2000]}
    else:
        if entry.sync_status == "failed":
            messages.warning(
                request, f"Blocked {entry.value} here; Radar did not take it yet ({entry.sync_error}). It is retried."
            )
        else:
            messages.success(request, f"Blocked {entry.get_kind_display().lower()} {entry.value}, here and in Radar.")
    return redirect(back(request, reverse("risk:blocklist")))


@require_POST
@finance_required(action="risk.decide")
def blocklist_remove(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(BlockListEntry, pk=entry_id)
    try:
        blocklist.block_entry_remove(entry=entry, actor=request.user, reason=request.POST.get("reason", ""))
    except RiskError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{entry.value} is no longer blocked.")
    return redirect(back(request, reverse("risk:blocklist")))
