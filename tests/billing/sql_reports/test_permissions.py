"""Who gets into the SQL workspace: analysts and admins write and run; support runs the library; customers never."""

import pytest
from django.urls import reverse
from explorer.models import Query

from accounts.models import AuditLog
from billing.sql_reports.models import LibraryReport

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "reports"])]


@pytest.fixture
def saved(reports_db, people):
    """A library report and an analyst's own query."""
    from billing.sql_reports.library import ensure_connection

    library = LibraryReport.objects.get(slug="dunning-recovery-by-method").query
    own = Query.objects.create(
        title="Organisations by country",
        sql="SELECT country, COUNT(*) AS n FROM accounts_organisation GROUP BY country ORDER BY country",
        database_connection=ensure_connection(),
    )
    return library, own


def login(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["owner", "outsider"])
def test_customers_never_get_in(client, people, saved, who):
    library, own = saved
    login(client, getattr(people, who))
    for url in (
        reverse("explorer_index"),
        reverse("query_detail", args=[library.pk]),
        reverse("explorer_playground"),
        reverse("download_query", args=[library.pk]),
        reverse("sql_reports:schedules"),
    ):
        assert client.get(url).status_code == 403, url


def test_strangers_are_sent_to_the_login(client, saved):
    library, _ = saved
    response = client.get(reverse("query_detail", args=[library.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_write_save_and_run(client, people, saved, role):
    login(client, getattr(people, role))
    response = client.post(
        reverse("query_create"),
        {
            "title": f"Orgs {role}",
            "sql": "SELECT name FROM accounts_organisation ORDER BY name",
            "description": "",
            "database_connection": saved[1].database_connection_id,
        },
    )
    assert response.status_code == 302
    query = Query.objects.get(title=f"Orgs {role}")
    page = client.get(reverse("query_detail", args=[query.pk]))
    assert page.status_code == 200 and b"Acme" in page.content and b"Globex" in page.content
    run = AuditLog.objects.filter(action="sql_report.run").latest("pk")
    assert run.actor == getattr(people, role) and run.data["rows"] == 2
    assert client.get(reverse("explorer_playground")).status_code == 200


def test_support_runs_the_library_only(client, people, saved):
    library, own = saved
    login(client, people.support)
    listing = client.get(reverse("explorer_index"))
    assert listing.status_code == 200
    assert library.title.encode() in listing.content and own.title.encode() not in listing.content
    assert client.get(reverse("query_detail", args=[library.pk])).status_code == 200
    revenue = LibraryReport.objects.get(slug="revenue-by-country-currency-plan").query
    page = client.get(reverse("query_detail", args=[revenue.pk]) + "?params=months:6")
    assert page.status_code == 200 and b'id="preview"' in page.content  # run with the parameter given
    assert AuditLog.objects.filter(action="sql_report.run").latest("pk").data["params"] == {"months": "6"}
    assert client.get(reverse("download_query", args=[library.pk]) + "?format=csv").status_code == 200
    for url in (
        reverse("query_detail", args=[own.pk]),
        reverse("download_query", args=[own.pk]),
        reverse("explorer_playground"),
        reverse("query_create"),
        reverse("explorer_logs"),
    ):
        assert client.get(url).status_code == 403, url
    # Saving a library report is refused (explorer sends them back to the page): the SQL is unchanged.
    client.post(reverse("query_detail", args=[library.pk]), {"title": "x", "sql": "SELECT 1", "description": ""})
    library.refresh_from_db()
    assert library.sql != "SELECT 1"
    # The playground's unsaved-SQL export is for writers only.
    assert client.post(reverse("download_sql"), {"sql": "SELECT 1"}).status_code == 403


def test_export_csv_streams_and_xlsx_downloads(client, people, saved):
    _, own = saved
    login(client, people.analyst)
    response = client.get(reverse("download_query", args=[own.pk]) + "?format=csv")
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines() == ["country,n", "DE,1", "US,1"]
    assert 'filename="Organisations_by_country.csv"' in response["Content-Disposition"]
    xlsx = client.get(reverse("download_query", args=[own.pk]) + "?format=excel")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get(reverse("download_query", args=[own.pk]) + "?format=pdf").status_code == 400


def test_a_refused_query_is_a_clear_message_never_a_500(client, people, saved):
    login(client, people.analyst)
    page = client.post(reverse("explorer_playground"), {"sql": "SELECT password FROM auth_user"})
    assert page.status_code == 200 and b"The table auth_user is not open to reports" in page.content
    export = client.post(reverse("download_sql") + "?format=csv", {"sql": "DELETE FROM accounts_organisation"})
    assert export.status_code == 400 and b"Reports only read" in export.content
    bad = Query.objects.create(
        title="Bad", sql="SELECT nope FROM accounts_organisation", database_connection=saved[1].database_connection
    )
    page = client.get(reverse("query_detail", args=[bad.pk]))
    assert (
        page.status_code == 200
        and b"column &quot;nope&quot; does not exist" in page.content
        or b"no such column" in page.content
    )
    unknown = client.get(reverse("download_query", args=[saved[1].pk]) + "?format=csv&params=country:DE")
    assert unknown.status_code == 400 and b"Unknown parameter country" in unknown.content


def test_the_chart_tab_is_drawn_from_the_results(client, people, saved):
    _, own = saved
    login(client, people.analyst)
    page = client.get(reverse("query_detail", args=[own.pk]))
    assert b'id="report-chart-data"' in page.content and b"chart.umd.min.js" in page.content
    assert b"sqlexplorer.io" not in page.content  # no outside links or requests


def test_the_schema_browser_lists_what_reports_may_read(client, people, saved):
    from django.core.cache import cache

    cache.clear()
    login(client, people.analyst)
    page = client.get(reverse("explorer_schema", args=[saved[0].database_connection_id]))
    assert page.status_code == 200
    text = page.content.decode()
    for shown in ("djstripe_invoice", "accounts_organisation", "accounts_membership", "billing_dunning_case"):
        assert shown in text
    for hidden in ("auth_user", "django_session", "billing_usage_apikey", "djstripe_apikey", "accounts_auditlog"):
        assert f">{hidden}<" not in text and f'"{hidden}"' not in text
    login(client, people.support)
    assert client.get(reverse("explorer_schema", args=[saved[0].database_connection_id])).status_code == 403


def test_a_cell_a_spreadsheet_would_run_is_exported_as_text(client, people, saved):
    from billing.sql_reports.library import ensure_connection

    formula = Query.objects.create(
        title="Formula",
        sql="SELECT '=HYPERLINK(\"http://x.example\")' AS name, -5 AS n",
        database_connection=ensure_connection(),
    )
    login(client, people.analyst)
    response = client.get(reverse("download_query", args=[formula.pk]) + "?format=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[1] == '"\'=HYPERLINK(""http://x.example"")",-5'
