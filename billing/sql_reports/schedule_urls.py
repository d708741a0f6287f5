from django.urls import path

from billing.sql_reports import views

app_name = "sql_reports"
urlpatterns = [
    path("", views.schedule_list, name="schedules"),
    path("<int:pk>/stop/", views.schedule_stop_view, name="schedule_stop"),
]
