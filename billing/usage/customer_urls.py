from django.urls import path

from billing.usage import customer_views

app_name = "usage_customer"
urlpatterns = [
    path("", customer_views.usage, name="usage"),
    path("explain/<str:invoice_id>/", customer_views.explain_invoice, name="explain"),
    path("keys/", customer_views.key_create, name="key_create"),
    path("keys/<int:key_id>/revoke/", customer_views.key_revoke, name="key_revoke"),
]
