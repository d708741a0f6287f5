from django.urls import path

from billing.selfserve import views

app_name = "selfserve"
urlpatterns = [path("", views.overview, name="overview")]
