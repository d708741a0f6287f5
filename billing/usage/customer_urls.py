from django.urls import path

app_name = "usage_customer"
urlpatterns: list = []
