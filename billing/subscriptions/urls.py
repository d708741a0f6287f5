from django.urls import path

from billing.subscriptions import views

app_name = "subscriptions"
urlpatterns = [path("", views.subscription_list, name="list")]
