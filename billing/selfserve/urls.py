from django.urls import path

from accounts import member_views
from billing.selfserve import account_views, payment_views, views

app_name = "selfserve"
urlpatterns = [
    path("", views.overview, name="overview"),
    # plan, seats, billing frequency; cancel and resume; what each subscription is charged to
    path("plan/", views.plan, name="plan"),
    path("plan/<str:subscription_id>/change/", views.change_preview, name="change_preview"),
    path("plan/<str:subscription_id>/change/confirm/", views.change_confirm, name="change_confirm"),
    path("plan/<str:subscription_id>/scheduled/cancel/", views.scheduled_cancel, name="scheduled_cancel"),
    path("plan/<str:subscription_id>/cancel/", views.cancel, name="cancel"),
    path("plan/<str:subscription_id>/resume/", views.resume, name="resume"),
    path(
        "plan/<str:subscription_id>/payment-method/",
        views.subscription_payment_method,
        name="subscription_payment_method",
    ),
    path("changes/<int:pk>/", views.change_result, name="change_result"),
    # payment methods
    path("payment-methods/", payment_views.payment_methods, name="payment_methods"),
    path("payment-methods/add/", payment_views.payment_method_add, name="payment_method_add"),
    path(
        "payment-methods/setup/<str:setup_intent_id>/", payment_views.payment_method_setup, name="payment_method_setup"
    ),
    path("payment-methods/saved/", payment_views.payment_method_saved, name="payment_method_saved"),
    path(
        "payment-methods/verify/<str:setup_intent_id>/",
        payment_views.payment_method_verify,
        name="payment_method_verify",
    ),
    path(
        "payment-methods/<str:payment_method_id>/default/",
        payment_views.payment_method_default,
        name="payment_method_default",
    ),
    path(
        "payment-methods/<str:payment_method_id>/remove/",
        payment_views.payment_method_remove,
        name="payment_method_remove",
    ),
    # invoices, billing details, tax IDs
    path("invoices/", account_views.invoices, name="invoices"),
    path("invoices/<str:invoice_id>/pay/", account_views.invoice_pay, name="invoice_pay"),
    path("details/", account_views.billing_details, name="billing_details"),
    path("details/tax-ids/add/", account_views.tax_id_add, name="tax_id_add"),
    path("details/tax-ids/<str:tax_id_id>/remove/", account_views.tax_id_remove, name="tax_id_remove"),
    # members (accounts owns them)
    path("members/", member_views.members, name="members"),
    path("members/invite/", member_views.invite, name="member_invite"),
    path("members/<int:pk>/role/", member_views.change_role, name="member_role"),
    path("members/<int:pk>/remove/", member_views.remove, name="member_remove"),
    path("members/invitations/<int:pk>/revoke/", member_views.revoke, name="invitation_revoke"),
]
