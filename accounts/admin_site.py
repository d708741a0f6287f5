"""The Django admin's default site, with every change it makes in the audit log.

Django records each admin change as a `LogEntry`; `accounts.receivers` copies each one into the
audit log as it is saved. Only a bulk deletion ("Delete selected") escapes that: Django writes its
entries with one `bulk_create`, which sends no `post_save`. Every ModelAdmin registered here
therefore logs deletions one entry at a time.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class OneEntryPerDeletion:
    def log_deletions(self, request, queryset):
        entries = []
        for obj in queryset:
            entries += super().log_deletions(request, [obj])
        return entries


class AuditedAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, OneEntryPerDeletion):
            admin_class = type(
                admin_class.__name__, (OneEntryPerDeletion, admin_class), {"__module__": admin_class.__module__}
            )
        super().register(model_or_iterable, admin_class, **options)


class AuditedAdminConfig(AdminConfig):
    """`django.contrib.admin` with the site above as `admin.site` (listed in INSTALLED_APPS instead)."""

    default_site = "accounts.admin_site.AuditedAdminSite"
