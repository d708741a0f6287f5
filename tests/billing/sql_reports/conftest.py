import pytest

_role_ready = {"done": False}


@pytest.fixture
def reports_db(transactional_db, settings):
    """The read-only "reports" connection on the test database (a separate connection: data must be committed),
    with the PostgreSQL role's grants, the library loaded, and a short statement timeout."""
    from django.db import connections

    from billing.sql_reports.library import library_load
    from billing.sql_reports.roles import reports_role_setup

    settings.REPORTS_STATEMENT_TIMEOUT_SECONDS = 2
    if not _role_ready["done"]:
        reports_role_setup()
        _role_ready["done"] = True
    library_load()
    yield
    connections["reports"].close()


def run(sql: str, params: dict | None = None, *, user=None):
    """Run SQL through explorer's Query, as the workspace does (checked, audited)."""
    from explorer.models import Query

    from billing.sql_reports.guard import acting_as

    query = Query(sql=sql, title="test")
    query.params = params or {}
    with acting_as(user):
        return query.execute_query_only()
