from django.urls import path

from taxes import views

app_name = "taxes"
urlpatterns = [
    path("", views.tax_settings, name="settings"),
    path("mode/", views.mode_update, name="mode"),
    path("registrations/", views.registration_add, name="registration_add"),
    path("registrations/<int:pk>/end/", views.registration_end, name="registration_end"),
    path("rates/", views.rate_change, name="rate_change"),
    path("customers/<int:organisation_id>/", views.customer_status, name="customer_status"),
    path("report/", views.tax_report_page, name="report"),
]
