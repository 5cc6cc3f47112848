"""The inventory's addresses. The fixed ones come before ``<name>/``: an application named
``import``, ``export``, ``review`` or ``reviews`` would be hidden behind them."""

from django.urls import path

from cadang.server.inventory import transfer_views, views

app_name = "inventory"
urlpatterns = [
    path("", views.application_list, name="list"),
    path("import/", transfer_views.import_plan, name="import"),
    path("export/", transfer_views.export_plan, name="export"),
    path("review/", views.review, name="review"),
    path("reviews/", views.reviews, name="reviews"),
    path("<str:name>/", views.detail, name="detail"),
    path("<str:name>/edit/", views.edit, name="edit"),
]
