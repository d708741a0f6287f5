"""The schedules page: which saved queries are emailed as CSV, how often, to whom."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from explorer.models import Query

from accounts.access import can, finance_required
from billing.sql_reports.models import Frequency, ReportSchedule
from billing.sql_reports.schedules import clean_recipients, schedule_create, schedule_stop


class ScheduleForm(forms.Form):
    query = forms.ModelChoiceField(queryset=Query.objects.order_by("title"), label="Saved query")
    frequency = forms.ChoiceField(choices=Frequency.choices)
    recipients = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Finance addresses, separated by commas or lines (at most 20)",
    )

    def clean_recipients(self):
        return clean_recipients(self.cleaned_data["recipients"])


@finance_required()
def schedule_list(request: HttpRequest) -> HttpResponse:
    may_edit = can(request.user, "sql.write")
    form = ScheduleForm(initial={"query": request.GET.get("query")}) if may_edit else None
    if request.method == "POST":
        if not may_edit:
            return HttpResponse("Your finance role does not allow this", status=403)
        form = ScheduleForm(request.POST)
        if form.is_valid():
            try:
                schedule = schedule_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"{schedule.query.title} will be emailed {schedule.frequency}.")
                return redirect("sql_reports:schedules")
    schedules = ReportSchedule.objects.select_related("query", "created_by").prefetch_related("runs")
    return render(
        request,
        "sql_reports/schedules.html",
        {"schedules": schedules, "form": form, "may_edit": may_edit},
        status=400 if form is not None and form.errors else 200,
    )


@require_POST
@finance_required(action="sql.write")
def schedule_stop_view(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(ReportSchedule, pk=pk)
    schedule_stop(schedule=schedule, actor=request.user)
    messages.success(request, f"{schedule.query.title} is no longer emailed.")
    return redirect("sql_reports:schedules")
