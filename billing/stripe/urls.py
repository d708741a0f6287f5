from django.urls import path

from billing.stripe import event_views

app_name = "stripe_events"
urlpatterns = [
    path("", event_views.event_list, name="list"),
    path("replay/", event_views.event_replay, name="replay"),
    path("drift/", event_views.drift_report, name="drift"),
    path("drift/<int:report_id>/repair/", event_views.drift_repair, name="drift-repair"),
    # Any stored id opens, even one the intake refuses today (ids with `/` were once stored).
    path("<path:event_id>/", event_views.event_detail, name="detail"),
]
