"""Which tables a report may read, and the check of a query's SQL against it (before the database's own).

The PostgreSQL role made by `setup_reports_role` is granted SELECT on exactly `allowed_tables()`;
on SQLite, where there are no roles, the parse below is what keeps reports away from the rest.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

# The mirror, organisations and their members, and the portal's billing tables (usage, dunning, taxes...).
ALLOWED = ("djstripe_*", "accounts_organisation", "accounts_membership", "billing_*", "taxes_*")
# Never: keys, secrets, raw webhook bodies and headers, sessions, logins, passwords, the audit log.
FORBIDDEN = (
    "djstripe_apikey",
    "djstripe_webhookendpoint",
    "djstripe_webhookeventtrigger",
    "djstripe_idempotencykey",
    "billing_stripe_webhookendpoint",
    "billing_usage_apikey",
)
# Functions that reach outside the query (files, other sessions, settings, SQL run from a string).
FORBIDDEN_FUNCTIONS = {
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "lo_import",
    "lo_export",
    "lo_get",
    "dblink",
    "dblink_exec",
    "set_config",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
    "pg_advisory_unlock",
    "pg_advisory_unlock_shared",
    "pg_advisory_unlock_all",
    "query_to_xml",
    "query_to_xml_and_xmlschema",
    "query_to_xmlschema",
    "cursor_to_xml",
    "table_to_xml",
    "schema_to_xml",
    "database_to_xml",
    "load_extension",
    "readfile",
    "writefile",
    "fts3_tokenizer",
}
READS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)
WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Command, exp.Copy)


class ReportRefused(Exception):
    """A report that may not run; the message says why, for the person who wrote it."""


def table_allowed(name: str) -> bool:
    name = name.lower()
    return any(fnmatchcase(name, p) for p in ALLOWED) and not any(fnmatchcase(name, p) for p in FORBIDDEN)


def allowed_tables(existing: list[str]) -> list[str]:
    return sorted(t for t in existing if table_allowed(t))


def check_sql(sql: str, *, dialect: str) -> None:
    """Raise ReportRefused unless `sql` is one read of allowed tables."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except (ParseError, TokenError) as error:
        first = str(error).splitlines()[0] if str(error) else "could not be parsed"
        raise ReportRefused(f"SQL syntax error: {first}") from error
    if not statements:
        raise ReportRefused("The query is empty: write one SELECT.")
    if len(statements) > 1:
        raise ReportRefused("One statement per report: remove the `;` and what follows it.")
    statement = statements[0]
    if not isinstance(statement, READS):
        kind = statement.key.upper() if statement.key != "command" else str(statement.this).upper()
        raise ReportRefused(f"Reports only read: a {kind} statement is refused (reports run read-only).")
    for node in statement.walk():
        if isinstance(node, WRITES):
            raise ReportRefused(f"Reports only read: {node.key.upper()} is refused (reports run read-only).")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in FORBIDDEN_FUNCTIONS:
                raise ReportRefused(f"The function {name}() is not open to reports.")
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function, e.g. jsonb_array_elements(...) or json_each(...)
        name = table.name.lower()
        schema = (table.db or "").lower()
        if not schema and name in ctes:
            continue
        if schema not in ("", "public", "main"):
            raise ReportRefused(f"The schema {schema} is not open to reports: read the portal's tables only.")
        if not table_allowed(name):
            raise ReportRefused(
                f"The table {name} is not open to reports. Reports read the Stripe mirror (djstripe_*), "
                "organisations, memberships and the billing tables; not logins, sessions, passwords or keys."
            )
