from django.urls import path

from cadang.server.inventory import views

app_name = "inventory"
urlpatterns = [
    path("", views.list, name="list"),
]
