from django.urls import path

app_name = "usage"
urlpatterns: list = []
