"""Every run of a report, whatever page or task starts it, passes here: checked, time-limited, audited.

django-sql-explorer runs SQL in one place, `Query.execute_query_only` (its pages, exports and our
scheduled reports all call it). `install()` wraps that method once at start-up: parameters are
checked, the SQL is parsed against the allow-list, the run goes to the read-only "reports"
connection with a statement timeout, and the outcome is written to the audit log.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections

from accounts.audit import audit
from billing.sql_reports.allowlist import ReportRefused, check_sql, table_allowed

# Who is running reports in this request or task (explorer's methods are not told).
current_actor: contextvars.ContextVar = contextvars.ContextVar("sql_reports_actor", default=None)
PARTITION = re.compile(r"_p\d{8}$")
current_origin: contextvars.ContextVar = contextvars.ContextVar("sql_reports_origin", default="workspace")


class RefusedQuery(DatabaseError):
    """Explorer's pages show a DatabaseError's message where the results would be: ours say why."""


class ReportsBusy(RefusedQuery):
    """Every report slot of the database stayed taken for as long as this run could wait."""


# Advisory-lock keys of the report slots: (SLOT_CLASS, 0 … REPORTS_MAX_RUNNING - 1). Analysts' SQL may
# not call the advisory-lock functions (allowlist.FORBIDDEN_FUNCTIONS), so only runs take slots.
SLOT_CLASS = 0x5250  # "RP"
SLOT_POLL_SECONDS = 0.2


@contextlib.contextmanager
def acting_as(user, origin: str = "workspace"):
    actor_token = current_actor.set(user)
    origin_token = current_origin.set(origin)
    try:
        yield
    finally:
        current_actor.reset(actor_token)
        current_origin.reset(origin_token)


def schema_table_shown(name: str) -> bool:
    """The schema browser lists what reports may read (not each day's partition of the usage events)."""
    return table_allowed(name) and not PARTITION.search(name)


def install() -> None:
    import explorer.schema
    from explorer.models import Query

    explorer.schema._include_table = schema_table_shown  # explorer's hook for this (its prefixes are too coarse)

    if getattr(Query.execute_query_only, "_sql_reports_guard", False):
        return
    original = Query.execute_query_only

    def execute_query_only(query):
        return run_checked(query, original)

    execute_query_only._sql_reports_guard = True
    Query.execute_query_only = execute_query_only


def reports_connection():
    return connections[settings.REPORTS_DATABASE_ALIAS]


def check_params(query) -> None:
    from explorer.utils import extract_params

    declared = extract_params(query.sql)
    given = {str(k).lower() for k in (query.params or {})}
    unknown = sorted(given - set(declared))
    if unknown:
        takes = ", ".join(sorted(declared)) if declared else "no parameters"
        raise ReportRefused(f"Unknown parameter {', '.join(unknown)}: this report takes {takes}.")
    values = {str(k).lower(): str(v).strip() for k, v in (query.params or {}).items()}
    missing = sorted(name for name, spec in declared.items() if not spec["default"] and not values.get(name))
    if missing:
        raise ReportRefused(f"Parameter {', '.join(missing)} needs a value.")


def explain(error: DatabaseError) -> str:
    """The database's refusal in words for an analyst (never the connection's details)."""
    seconds = settings.REPORTS_STATEMENT_TIMEOUT_SECONDS
    cause = getattr(error, "__cause__", None) or error
    sqlstate = getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    if sqlstate == "57014" or text == "interrupted":
        return f"The query ran longer than {seconds} s and was stopped. Narrow it down (dates, LIMIT) and run again."
    if sqlstate == "25006" or "readonly database" in text or "read-only" in text:
        return "Reports are read-only: the database refused a write."
    if sqlstate == "42501":
        return f"Not open to reports: {text}."
    if sqlstate and sqlstate.startswith("42"):
        return f"SQL error: {text}"
    return f"The query failed: {text}"


@contextlib.contextmanager
def time_limit(connection):
    """The statement timeout for this run (PostgreSQL enforces it; on SQLite a progress handler does)."""
    seconds = settings.REPORTS_STATEMENT_TIMEOUT_SECONDS
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{seconds}s"])
        yield
        return
    connection.ensure_connection()
    deadline = time.monotonic() + seconds
    raw = connection.connection
    raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


def slot_wait_seconds() -> float:
    if current_origin.get() == "schedule":
        return settings.REPORTS_SCHEDULED_SLOT_WAIT_SECONDS
    return settings.REPORTS_SLOT_WAIT_SECONDS


def _take_free_slot(cursor) -> int | None:
    for slot in range(settings.REPORTS_MAX_RUNNING):
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SLOT_CLASS, slot])
        if cursor.fetchone()[0]:
            return slot
    return None


@contextlib.contextmanager
def report_slot(connection):
    """One of REPORTS_MAX_RUNNING slots on the database the report runs on, held while it runs.

    Each run holds a core of the database server (no parallel workers): the slots keep a handful of
    analysts from taking every core the webhook intake and the pages need. A slot is a session-level
    advisory lock, so it is the database server's count (every web and Celery process together), and
    a process that dies frees its slot with its connection. SQLite (one local user) has no slots.
    """
    if connection.vendor != "postgresql" or not settings.REPORTS_MAX_RUNNING:
        yield
        return
    deadline = time.monotonic() + slot_wait_seconds()
    with connection.cursor() as cursor:
        while (slot := _take_free_slot(cursor)) is None:
            if time.monotonic() >= deadline:
                running = settings.REPORTS_MAX_RUNNING
                raise ReportsBusy(
                    f"{running} report{'s are' if running > 1 else ' is'} already running, the most the database "
                    f"runs at once so that the webhook intake and the pages keep their speed: yours did not "
                    f"start. Run it again in a moment."
                )
            time.sleep(SLOT_POLL_SECONDS)
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SLOT_CLASS, slot])


def run_checked(query, execute):
    actor = current_actor.get()
    params = dict(query.params or {})
    sql = query.sql
    started = time.monotonic()
    facts = {"origin": current_origin.get(), "title": query.title or "", "params": params}
    target = {"obj": query} if query.pk else {"object_type": "explorer.query", "object_id": ""}
    try:
        check_params(query)
        sql = query.final_sql()
        connection = reports_connection()
        check_sql(sql, dialect="postgres" if connection.vendor == "postgresql" else "sqlite")
        with report_slot(connection), time_limit(connection):
            result = execute(query)
    except ReportRefused as refusal:
        ms = round((time.monotonic() - started) * 1000)
        audit(actor, "sql_report.refused", **target, sql=sql, ms=ms, reason=str(refusal), **facts)
        raise RefusedQuery(str(refusal)) from refusal
    except ValidationError as refusal:  # explorer's own word list
        ms = round((time.monotonic() - started) * 1000)
        message = " ".join(refusal.messages)
        audit(actor, "sql_report.refused", **target, sql=sql, ms=ms, reason=message, **facts)
        raise RefusedQuery(message) from refusal
    except ReportsBusy as busy:
        ms = round((time.monotonic() - started) * 1000)
        audit(actor, "sql_report.busy", **target, sql=sql, ms=ms, reason=str(busy), **facts)
        raise
    except DatabaseError as error:
        ms = round((time.monotonic() - started) * 1000)
        message = explain(error)
        audit(actor, "sql_report.failed", **target, sql=sql, ms=ms, reason=message, **facts)
        raise RefusedQuery(message) from error
    ms = round((time.monotonic() - started) * 1000)
    audit(actor, "sql_report.run", **target, sql=sql, rows=len(result.data), ms=ms, **facts)
    return result
