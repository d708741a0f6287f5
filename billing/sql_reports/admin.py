from django.contrib import admin

from billing.sql_reports import models


@admin.register(models.LibraryReport)
class LibraryReportAdmin(admin.ModelAdmin):
    list_display = ("slug", "query", "dialect", "loaded_at")
    list_select_related = ("query",)
    search_fields = ("slug", "query__title")
    raw_id_fields = ("query",)


@admin.register(models.ReportSchedule)
class ReportScheduleAdmin(admin.ModelAdmin):
    list_display = ("query", "frequency", "active", "created_by", "created_at")
    list_filter = ("frequency", "active")
    list_select_related = ("query", "created_by")
    search_fields = ("query__title",)
    raw_id_fields = ("query", "created_by")


@admin.register(models.ScheduledRun)
class ScheduledRunAdmin(admin.ModelAdmin):
    list_display = ("schedule", "period", "status", "rows", "claimed_at", "sent_at")
    list_filter = ("status",)
    list_select_related = ("schedule__query",)
    search_fields = ("period", "schedule__query__title")
    raw_id_fields = ("schedule",)
