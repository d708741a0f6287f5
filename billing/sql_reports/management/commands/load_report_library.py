from django.core.management.base import BaseCommand

from billing.sql_reports.library import library_load


class Command(BaseCommand):
    help = "Create or update the finance report library (saved SQL queries) for the SQL workspace. Safe to rerun."

    def handle(self, *args, **options):
        count = library_load()
        self.stdout.write(f"Report library: {count} saved queries loaded.")
