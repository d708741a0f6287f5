import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from billing.sql_reports.roles import reports_role_setup


class Command(BaseCommand):
    help = (
        "PostgreSQL: create or update the read-only role SQL reports run as (REPORTS_DATABASE_ROLE), with SELECT "
        "on the allow-listed tables only. Run it after each migrate (the release step does). Nothing to do on SQLite."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database: str, **options):
        try:
            tables = reports_role_setup(using=database, password=os.environ.get("REPORTS_DATABASE_PASSWORD") or None)
        except DatabaseError as error:
            raise CommandError(
                f"Could not set up the reports role: {str(error).splitlines()[0]}. The database user needs "
                "CREATEROLE (or have a DBA run this command once per migration)."
            ) from error
        if not tables:
            self.stdout.write("Not PostgreSQL: reports use a read-only SQLite connection instead of a role.")
            return
        self.stdout.write(f"The reports role may read {len(tables)} tables.")
