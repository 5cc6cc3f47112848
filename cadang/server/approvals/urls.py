from django.urls import path

from cadang.server.approvals import views

app_name = "approvals"
urlpatterns = [
    path("", views.list, name="list"),
    path("inbox/", views.inbox, name="inbox"),
]
