from django.urls import path

from cadang.server.notify import views

app_name = "notify"
urlpatterns = [
    path("", views.notification_list, name="list"),
    path("settings/", views.notify_settings, name="settings"),
    path("settings/test/", views.send_test_notification, name="test"),
]
