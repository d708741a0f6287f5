from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import member_views
from accounts import views as account_views
from billing.stripe import views as stripe_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("health/", account_views.health, name="health"),
    path("stripe/webhook/", stripe_views.webhook, name="stripe-webhook"),
    path("revenue/", include("billing.reports.urls")),
    path("currencies/", include("billing.currencies.urls")),
    path("customers/", include("billing.customers.urls")),
    path("invoices/", include("billing.invoices.urls")),
    path("subscriptions/", include("billing.subscriptions.urls")),
    path("payments/", include("billing.payments.urls")),
    path("plans/", include("billing.catalog.urls")),
    path("audit/", include("billing.reports.audit_urls")),
    path("dunning/", include("billing.dunning.urls")),
    path("events/", include("billing.stripe.urls")),
    path("api/usage/", include("billing.usage.api_urls")),
    path("usage/", include("billing.usage.urls")),
    path("billing/usage/", include("billing.usage.customer_urls")),
    path("billing/", include("billing.selfserve.urls")),
    path("risk/", include("billing.risk.urls")),
    path("taxes/", include("taxes.urls")),
    path("reports/sql/schedules/", include("billing.sql_reports.schedule_urls")),
    path("reports/sql/", include("billing.sql_reports.urls")),
    path("invitations/<str:token>/", member_views.accept, name="invitation_accept"),
    path("admin/", admin.site.urls),
]

if settings.PORTAL_BENCH_VIEWS:
    # The yardstick for benchmarks/intake.py: the same server and middleware, no work at all.
    urlpatterns.append(path("bench/bare/", stripe_views.bare, name="bench-bare"))
    urlpatterns.append(path("bench/bare-page/", stripe_views.bare_page, name="bench-bare-page"))

admin.site.site_header = "Billing portal admin"
admin.site.site_title = "Billing portal admin"
