"""/reports/sql/: the workspace (explorer's page names, unnamespaced as its templates expect)."""

from billing.sql_reports.workspace import workspace_urls

urlpatterns = workspace_urls()
