from django.urls import path

from billing.dunning import views

app_name = "dunning"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/retry/", views.case_retry, name="retry"),
    path("organisations/<int:organisation_id>/pause/", views.organisation_pause, name="pause"),
    path("organisations/<int:organisation_id>/resume/", views.organisation_resume, name="resume"),
    path("paused/", views.paused, name="paused"),
    path("policies/", views.policy_list, name="policies"),
    path("policies/new/", views.policy_edit, name="policy_new"),
    path("policies/<int:policy_id>/", views.policy_edit, name="policy"),
    path("emails/<int:template_id>/", views.email_edit, name="email"),
    path("analytics/", views.analytics, name="analytics"),
]
