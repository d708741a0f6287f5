from django.urls import path

from billing.usage import api

app_name = "usage_api"
urlpatterns = [
    path("events", api.events, name="events"),
    path("openapi.json", api.schema, name="schema"),
]
