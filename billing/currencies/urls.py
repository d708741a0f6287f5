from django.urls import path

from billing.currencies import views

app_name = "currencies"
urlpatterns = [
    path("fx/", views.fx_rates, name="fx"),
    path("fx/add/", views.fx_rate_add, name="fx-add"),
    path("fx/import/", views.fx_import, name="fx-import"),
]
