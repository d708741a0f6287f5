from django.urls import path

from billing.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("prices/", views.price_create, name="price-create"),
    path("prices/<str:price_id>/archive/", views.price_archive, name="price-archive"),
    path("prices/<str:price_id>/offer/", views.price_offer, name="price-offer"),
]
