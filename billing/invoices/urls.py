from django.urls import path

from billing.invoices import views

app_name = "invoices"
urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("bulk/", views.invoice_bulk, name="bulk"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:action_id>/", views.approval_decide, name="decide"),
    path("<str:invoice_id>/", views.invoice_detail, name="detail"),
    path("<str:invoice_id>/<str:kind>/", views.invoice_act, name="act"),
]
