"""The PostgreSQL role reports run as: SELECT on the allow-list only, read-only, time-limited."""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from psycopg import sql

from billing.sql_reports.allowlist import allowed_tables


def reports_role_setup(*, using: str = "default", password: str | None = None) -> list[str]:
    """Create or update the role on `using`'s database; returns the tables it may read. Safe to run again."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    role = settings.REPORTS_DATABASE_ROLE
    timeout = f"{settings.REPORTS_STATEMENT_TIMEOUT_SECONDS}s"
    ident = sql.Identifier(role)
    with connection.cursor() as cursor:
        # Roles belong to the server, not one database: another database's set-up may be making it right now.
        cursor.execute(
            sql.SQL(
                "DO $$ BEGIN CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ).format(ident)
        )
        if password:
            cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(password)))
        cursor.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(ident))
        cursor.execute(sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(ident, sql.Literal(timeout)))
        cursor.execute(
            sql.SQL("ALTER ROLE {} SET max_parallel_workers_per_gather = {}").format(
                ident, sql.Literal(settings.REPORTS_PARALLEL_WORKERS)
            )
        )
        cursor.execute(
            sql.SQL("ALTER ROLE {} SET work_mem = {}").format(ident, sql.Literal(f"{settings.REPORTS_WORK_MEM_MB}MB"))
        )
        cursor.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT 20").format(ident))
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
        cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), ident))
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
        cursor.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(ident))
        cursor.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(ident))
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = allowed_tables([row[0] for row in cursor.fetchall()])
        for table in tables:
            cursor.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(table), ident))
    return tables
