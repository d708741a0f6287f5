from django.urls import path
from django.views.generic import RedirectView

from billing.risk.views import blocklist, disputes, reviews, warnings

app_name = "risk"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="risk:reviews"), name="home"),
    path("reviews/", reviews.review_list, name="reviews"),
    path("reviews/bulk/", reviews.reviews_bulk, name="reviews_bulk"),
    path("reviews/<str:review_id>/", reviews.review_detail, name="review"),
    path("reviews/<str:review_id>/decide/", reviews.review_decide, name="review_decide"),
    path("warnings/", warnings.warning_list, name="warnings"),
    path("warnings/policy/", warnings.policy_update, name="policy"),
    path("warnings/<str:warning_id>/refund/", warnings.warning_refund, name="warning_refund"),
    path("disputes/", disputes.dispute_list, name="disputes"),
    path("disputes/analytics/", disputes.dispute_analytics, name="analytics"),
    path("disputes/<str:dispute_id>/", disputes.dispute_detail, name="dispute"),
    path("disputes/<str:dispute_id>/evidence/", disputes.dispute_evidence, name="dispute_evidence"),
    path("disputes/<str:dispute_id>/files/", disputes.dispute_upload, name="dispute_upload"),
    path("disputes/<str:dispute_id>/accept/", disputes.dispute_accept, name="dispute_accept"),
    path("blocklist/", blocklist.blocklist_page, name="blocklist"),
    path("blocklist/add/", blocklist.blocklist_add, name="blocklist_add"),
    path("blocklist/<int:entry_id>/remove/", blocklist.blocklist_remove, name="blocklist_remove"),
]
