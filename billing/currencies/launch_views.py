"""Pages of currency launches: the list, drafting, the launch page (price book, four-eyes approval,
the job's live progress, rollback), the book as CSV, and the acceptance report. Finance staff read;
finance admins act (`currency.launch`)."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import can, finance_required
from accounts.audit import audit
from billing.currencies import launches as services
from billing.currencies import overrides, selectors
from billing.currencies.book import BLOCKING
from billing.currencies.forms import LaunchCreateForm, LaunchSettingsForm, OverrideForm, RollbackForm
from billing.currencies.launches import LaunchError, describe_flag
from billing.currencies.limits import MINIMUM_SOURCE
from billing.currencies.models import Launch, LaunchStatus
from billing.currencies.rounding import RoundingRule
from billing.money import format_money, to_decimal
from billing.ui.charts import chart
from billing.ui.csv import stream_csv

PAGE_SIZE = 50
ANCHOR = re.compile(r"#(row-\d{1,12}|book|next)")
SHOW = {"all": "All prices", "flagged": "Flagged", "overridden": "Overridden", "failed": "Failed"}


def _launch(pk: int) -> Launch:
    try:
        return selectors.get_launch(pk)
    except Launch.DoesNotExist:
        raise Http404("No such launch") from None


def _refused(request: HttpRequest, error: LaunchError, prefix: str = "") -> None:
    for line in error.errors[:20]:
        messages.error(request, f"{prefix}{line}")


@finance_required()
def launch_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "currencies/launches.html",
        {"launches": selectors.launches()[:200], "can_launch": can(request.user, "currency.launch")},
    )


@finance_required(action="currency.launch")
def launch_new(request: HttpRequest) -> HttpResponse:
    form = LaunchCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            launch = services.launch_create(actor=request.user, **form.cleaned_data)
        except LaunchError as error:
            for line in error.errors:
                form.add_error(None, line)
        else:
            messages.success(request, f"Drafted {launch}. Preview its price book next.")
            return redirect("currencies:launch", pk=launch.pk)
    context = {"form": form, "fx_max_age": settings.PORTAL_FX_MAX_AGE_DAYS}
    return render(request, "currencies/launch_new.html", context, status=400 if form.errors else 200)


@finance_required()
def launch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    launch = _launch(pk)
    show = request.GET.get("show", "all")
    show = show if show in SHOW else "all"
    page = Paginator(selectors.book_rows(launch, show=show), PAGE_SIZE).get_page(request.GET.get("page"))
    may = can(request.user, "currency.launch")
    rows = [_row_view(row, launch) for row in page.object_list]
    acceptance = selectors.acceptance(launch)
    return render(
        request,
        "currencies/launch.html",
        {
            "launch": launch,
            "rule": RoundingRule(launch.rounding_mode, launch.charm_ending).describe(launch.currency),
            "progress": selectors.progress(launch),
            "audience": selectors.audience(launch),
            "countries": [
                {
                    "label": selectors.country_label(c),
                    "methods": [selectors.method_label(m) for m in (launch.methods or {}).get(c, [])],
                }
                for c in launch.countries
            ],
            "page_obj": page,
            "rows": rows,
            "show": show,
            "show_choices": SHOW,
            "querystring": f"show={show}",
            "counts": _counts(launch),
            "may": may,
            "editable": may and launch.status == LaunchStatus.previewed,
            "settings_form": _settings_form(launch) if may and launch.status in services.EDITABLE else None,
            "self_approval": launch.created_by_id == request.user.pk,
            "can_export": can(request.user, "export"),
            "acceptance": acceptance,
            "acceptance_chart": _acceptance_chart(acceptance) if acceptance else None,
            "rollback_form": RollbackForm(),
            "fx_max_age": settings.PORTAL_FX_MAX_AGE_DAYS,
            "minimum_source": MINIMUM_SOURCE,
        },
    )


def _settings_form(launch: Launch) -> LaunchSettingsForm:
    return LaunchSettingsForm(
        initial={
            "countries": ", ".join(launch.countries),
            "rounding_mode": launch.rounding_mode,
            "charm_ending": launch.charm_ending,
            "sibling_tolerance": launch.sibling_tolerance.normalize(),
            "note": launch.note,
        }
    )


def _counts(launch: Launch) -> dict:
    rows = list(launch.rows.values_list("flags", "override_amount"))
    return {
        "all": len(rows),
        "flagged": sum(1 for flags, _ in rows if flags),
        "blocking": sum(1 for flags, _ in rows if any(f["kind"] in BLOCKING for f in flags)),
        "overridden": sum(1 for _, o in rows if o is not None),
    }


def _row_view(row, launch: Launch) -> dict:
    return {
        "row": row,
        "source": format_money(row.source_amount, launch.source_currency),
        "converted": f"{row.converted.quantize(to_decimal(1, launch.currency)):,}",
        "rounded": format_money(row.rounded, launch.currency),
        "rounded_major": str(to_decimal(row.rounded, launch.currency)),
        "price": format_money(row.amount, launch.currency),
        "override_major": str(to_decimal(row.override_amount, launch.currency))
        if row.override_amount is not None
        else "",
        "flags": [
            {"text": describe_flag(f, launch), "blocking": f["kind"] in BLOCKING, "kind": f["kind"]} for f in row.flags
        ],
    }


@finance_required()
def launch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The live progress bar (htmx polls it every second while the job runs)."""
    launch = _launch(pk)
    progress = selectors.progress(launch)
    response = render(request, "currencies/_progress.html", {"launch": launch, "progress": progress})
    if request.GET.get("polling") and not progress.active:
        response["HX-Refresh"] = "true"  # finished: show the whole page in its new state
    return response


def _back(launch: Launch, request: HttpRequest) -> HttpResponse:
    url = reverse("currencies:launch", args=[launch.pk])
    keep = {k: request.POST.get(k) for k in ("show", "page") if request.POST.get(k)}
    if keep:
        url += "?" + "&".join(f"{k}={v}" for k, v in keep.items() if v.isalnum())
    anchor = request.POST.get("anchor") or ""
    return redirect(url + (anchor if ANCHOR.fullmatch(anchor) else ""))


@require_POST
@finance_required(action="currency.launch")
def launch_edit(request: HttpRequest, pk: int) -> HttpResponse:
    launch = _launch(pk)
    form = LaunchSettingsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not saved: " + "; ".join(f"{f}: {', '.join(e)}" for f, e in form.errors.items()))
        return _back(launch, request)
    try:
        launch = services.launch_update(launch=launch, actor=request.user, **form.cleaned_data)
    except LaunchError as error:
        _refused(request, error, "Not saved: ")
    else:
        note = " Preview it again: the book no longer matches." if launch.status == LaunchStatus.draft else ""
        messages.success(request, f"Saved.{note}")
    return _back(launch, request)


def _step(request: HttpRequest, pk: int, action, done: str, **extra) -> HttpResponse:
    launch = _launch(pk)
    try:
        action(launch=launch, actor=request.user, **extra)
    except LaunchError as error:
        _refused(request, error)
    else:
        messages.success(request, done)
    return _back(launch, request)


@require_POST
@finance_required(action="currency.launch")
def launch_preview(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, services.launch_preview, "Previewed: the price book below is what Stripe would get.")


@require_POST
@finance_required(action="currency.launch")
def launch_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, services.launch_approve, "Approved: the price book is frozen and ready to run.")


@require_POST
@finance_required(action="currency.launch")
def launch_start(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, services.launch_start, "Started: the prices are being created in Stripe.")


@require_POST
@finance_required(action="currency.launch")
def launch_retry(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, services.launch_retry, "Trying the failed prices again.")


@require_POST
@finance_required(action="currency.launch")
def launch_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    form = RollbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the launch is rolled back.")
        return redirect("currencies:launch", pk=pk)
    return _step(
        request,
        pk,
        services.launch_rollback,
        "Rolling back: the countries are restored and self-serve no longer offers its prices; Stripe archives them.",
        reason=form.cleaned_data["reason"],
    )


@require_POST
@finance_required(action="currency.launch")
def launch_override(request: HttpRequest, pk: int) -> HttpResponse:
    launch = _launch(pk)
    form = OverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not saved: choose a price of the book.")
        return _back(launch, request)
    try:
        row = overrides.launch_override(
            launch=launch,
            row_id=form.cleaned_data["row"],
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except LaunchError as error:
        _refused(request, error, "Not saved: ")
    else:
        what = format_money(row.amount, launch.currency)
        messages.success(
            request,
            f"{row.lookup_key}: {what}" + (" (override)" if row.override_amount is not None else " (by the rule)"),
        )
    return _back(launch, request)


@require_POST
@finance_required(action="currency.launch")
def launch_import(request: HttpRequest, pk: int) -> HttpResponse:
    launch = _launch(pk)
    upload = request.FILES.get("file")
    if upload is None or upload.size > 2_000_000:
        messages.error(request, "Choose a CSV file of at most 2 MB.")
        return _back(launch, request)
    try:
        changed = overrides.launch_import_overrides(launch=launch, data=upload.read(), actor=request.user)
    except LaunchError as error:
        _refused(request, error, "Nothing imported: ")
    else:
        messages.success(request, f"Imported: {changed} price{'s' if changed != 1 else ''} changed.")
    return _back(launch, request)


@finance_required(action="export")
def launch_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The price book as CSV; edit the override and reason columns and import it back."""
    launch = _launch(pk)
    header = [
        "lookup_key", "product", "interval", "source_price", f"source_{launch.source_currency}",
        f"converted_{launch.currency}", f"rule_{launch.currency}", "override", "reason", f"price_{launch.currency}",
        "flags", "state", "stripe_price",
    ]  # fmt: skip
    rows = (
        [
            row.lookup_key,
            row.product_name,
            row.interval if row.interval_count == 1 else f"{row.interval_count} {row.interval}s",
            row.source_price_id,
            to_decimal(row.source_amount, launch.source_currency),
            row.converted,
            to_decimal(row.rounded, launch.currency),
            to_decimal(row.override_amount, launch.currency) if row.override_amount is not None else "",
            row.override_reason,
            to_decimal(row.amount, launch.currency),
            "; ".join(describe_flag(f, launch) for f in row.flags),
            row.state,
            row.stripe_price_id,
        ]
        for row in launch.rows.order_by("product_name", "interval", "id").iterator(chunk_size=500)
    )
    audit(request.user, "currency_launch.export", launch, rows=launch.rows.count())
    return stream_csv(f"launch-{launch.pk}-{launch.currency}-book", header, rows)


# --- acceptance -------------------------------------------------------------------------------------
def _acceptance_chart(report: selectors.Acceptance) -> dict:
    rows = [r for r in report.rows if r.before.attempts or r.after.attempts]
    return chart(
        f"acceptance-{report.launch.pk}",
        "Payment success rate",
        [r.label for r in rows],
        [
            ("30 days before", [float(r.before.rate) if r.before.rate is not None else None for r in rows]),
            (
                f"{report.after_days} days after",
                [float(r.after.rate) if r.after.rate is not None else None for r in rows],
            ),
        ],
        percent=True,
        label_header="Country · currency · method",
        display=lambda v: "—" if v is None else f"{v} %",
    )


def _percent(value) -> float | None:
    return float(value) if value is not None else None


@finance_required()
def acceptance_report(request: HttpRequest) -> HttpResponse:
    reports = [selectors.acceptance(launch) for launch in selectors.launched()[:20]]
    return render(
        request,
        "currencies/acceptance.html",
        {"reports": [(r, _acceptance_chart(r)) for r in reports if r is not None]},
    )
