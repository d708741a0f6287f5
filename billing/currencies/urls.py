from django.urls import path

from billing.currencies import launch_views, views

app_name = "currencies"
urlpatterns = [
    path("fx/", views.fx_rates, name="fx"),
    path("fx/add/", views.fx_rate_add, name="fx-add"),
    path("fx/import/", views.fx_import, name="fx-import"),
    path("launches/", launch_views.launch_list, name="launches"),
    path("launches/new/", launch_views.launch_new, name="launch-new"),
    path("launches/<int:pk>/", launch_views.launch_detail, name="launch"),
    path("launches/<int:pk>/progress/", launch_views.launch_progress, name="launch-progress"),
    path("launches/<int:pk>/edit/", launch_views.launch_edit, name="launch-edit"),
    path("launches/<int:pk>/preview/", launch_views.launch_preview, name="launch-preview"),
    path("launches/<int:pk>/override/", launch_views.launch_override, name="launch-override"),
    path("launches/<int:pk>/book.csv", launch_views.launch_export, name="launch-export"),
    path("launches/<int:pk>/import/", launch_views.launch_import, name="launch-import"),
    path("launches/<int:pk>/approve/", launch_views.launch_approve, name="launch-approve"),
    path("launches/<int:pk>/start/", launch_views.launch_start, name="launch-start"),
    path("launches/<int:pk>/retry/", launch_views.launch_retry, name="launch-retry"),
    path("launches/<int:pk>/rollback/", launch_views.launch_rollback, name="launch-rollback"),
    path("acceptance/", launch_views.acceptance_report, name="acceptance"),
]
