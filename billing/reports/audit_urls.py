from django.urls import path

from billing.reports import audit

app_name = "audit"
urlpatterns = [path("", audit.audit_log, name="log")]
