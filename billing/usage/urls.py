from django.urls import path

from billing.usage import views

app_name = "usage"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("periods/", views.period_list, name="periods"),
    path("periods/<int:period_id>/correct/", views.correct, name="correct"),
    path("meters/", views.meters, name="meters"),
    path("organisations/<slug:slug>/", views.organisation, name="organisation"),
    path("organisations/<slug:slug>/keys/", views.key_create, name="key_create"),
    path("keys/<int:key_id>/revoke/", views.key_revoke, name="key_revoke"),
    path("explain/<str:invoice_id>/", views.explain_invoice, name="explain"),
]
