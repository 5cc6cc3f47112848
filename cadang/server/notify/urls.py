from django.urls import path

from cadang.server.notify import views

app_name = "notify"
urlpatterns = [
    path("", views.list, name="list"),
]
