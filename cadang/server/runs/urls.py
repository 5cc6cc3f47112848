from django.urls import path

from cadang.server.runs import views

app_name = "runs"
urlpatterns = [
    path("", views.list, name="list"),
    path("schedules/", views.schedules, name="schedules"),
]
