"""The issue's refusal list, each against the real database (PostgreSQL: the role, read-only, timeout)."""

import pytest
from django.db import connection

from accounts.models import AuditLog
from billing.sql_reports.guard import RefusedQuery
from tests.billing.sql_reports.conftest import run

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "reports"])]

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("DELETE FROM accounts_organisation", "Reports only read: a DELETE statement is refused"),
        ("UPDATE accounts_organisation SET name = 'x'", "Reports only read: a UPDATE statement is refused"),
        ("COPY (SELECT 1) TO PROGRAM 'touch /tmp/owned'", "Reports only read: a COPY statement is refused"),
        ("SELECT username, password FROM auth_user", "The table auth_user is not open to reports"),
        ("SELECT * FROM billing_usage_apikey", "The table billing_usage_apikey is not open to reports"),
        ("SELECT * FROM djstripe_apikey", "The table djstripe_apikey is not open to reports"),
        ("SELECT * FROM django_session", "The table django_session is not open to reports"),
        ("SELEC name FROM accounts_organisation", "SQL syntax error"),
        ("SELECT 1; DELETE FROM accounts_organisation", "One statement per report"),
        ("WITH x AS (DELETE FROM accounts_organisation RETURNING 1) SELECT * FROM x", "Reports only read"),
    ],
)
def test_refused_with_a_clear_message_and_nothing_changed(reports_db, people, sql, says):
    with pytest.raises(RefusedQuery, match=says):
        run(sql, user=people.analyst)
    assert people.acme.__class__.objects.filter(name="Acme").exists()
    entry = AuditLog.objects.filter(action="sql_report.refused").latest("pk")
    assert entry.actor == people.analyst and entry.data["sql"] == sql and says.split(":")[0] in entry.data["reason"]


def test_unknown_parameter_is_refused(reports_db, people):
    with pytest.raises(RefusedQuery, match="Unknown parameter country: this report takes since"):
        run("SELECT name FROM accounts_organisation WHERE created_at >= '$$since:2020-01-01$$'", {"country": "DE"})


def test_a_parameter_without_value_is_refused(reports_db):
    with pytest.raises(RefusedQuery, match="Parameter country needs a value"):
        run("SELECT name FROM accounts_organisation WHERE country = '$$country$$'")


@postgres_only
def test_pg_sleep_is_stopped_by_the_statement_timeout(reports_db):
    with pytest.raises(RefusedQuery, match="ran longer than 2 s and was stopped"):
        run("SELECT pg_sleep(600)")
    entry = AuditLog.objects.filter(action="sql_report.failed").latest("pk")
    assert 1500 <= entry.data["ms"] < 20_000


@postgres_only
def test_the_role_itself_refuses_what_the_parser_would_let_through(reports_db):
    """Defence in depth: the connection's role can neither read auth_user nor write, SQL check or not."""
    from django.db import DatabaseError, connections
    from explorer.models import QueryResult

    reports = connections["reports"]
    with reports.cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting('default_transaction_read_only')")
        assert cursor.fetchone() == ("portal_reports_ro", "on")
    with pytest.raises(DatabaseError, match="permission denied for table auth_user"):
        QueryResult("SELECT password FROM auth_user", reports)
    with pytest.raises(DatabaseError, match="permission denied|read-only transaction"):
        QueryResult("INSERT INTO accounts_organisation (name) VALUES ('x') RETURNING id", reports)


def test_a_run_is_audited_with_who_sql_params_rows_and_ms(reports_db, people):
    result = run(
        "SELECT name FROM accounts_organisation WHERE country = '$$country:US$$'",
        {"country": "DE"},
        user=people.analyst,
    )
    assert [row[0] for row in result.data] == ["Acme"]
    entry = AuditLog.objects.filter(action="sql_report.run").latest("pk")
    assert entry.actor == people.analyst
    assert entry.data["sql"] == "SELECT name FROM accounts_organisation WHERE country = 'DE'"
    assert entry.data["params"] == {"country": "DE"} and entry.data["rows"] == 1 and entry.data["ms"] >= 0


def test_a_query_that_never_ends_is_stopped_on_either_database(reports_db):
    """PostgreSQL's statement_timeout, or SQLite's progress handler: the same limit, the same message."""
    with pytest.raises(RefusedQuery, match="ran longer than 2 s and was stopped"):
        run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite connection's own guard")
def test_the_sqlite_connection_itself_refuses_writes(reports_db):
    from django.db import DatabaseError, connections
    from explorer.models import QueryResult

    with pytest.raises(DatabaseError, match="readonly"):
        QueryResult("INSERT INTO accounts_organisation (name) VALUES ('x')", connections["reports"])
