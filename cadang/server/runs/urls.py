from django.urls import path

from cadang.server.runs import views

app_name = "runs"
urlpatterns = [
    path("", views.run_list, name="list"),
    path("start/", views.start, name="start"),
    path("schedules/", views.schedules, name="schedules"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/live/", views.live, name="live"),
]
