"""The "reports" alias is a read-only window on the portal's database (or a replica): no model lives there."""

from __future__ import annotations

from django.conf import settings


class ReportsRouter:
    def db_for_read(self, model, **hints):
        return None  # models are read and written on "default"; only explorer's raw SQL goes to "reports"

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == settings.REPORTS_DATABASE_ALIAS:
            return False
        return None
