from django.urls import path

from cadang.server.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.list, name="list"),
]
