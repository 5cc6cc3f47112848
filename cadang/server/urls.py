"""The server's addresses: one include per app."""

from django.urls import include, path

from cadang.server import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("cadang.server.accounts.urls")),
    path("inventory/", include("cadang.server.inventory.urls")),
    path("runs/", include("cadang.server.runs.urls")),
    path("forms/", include("cadang.server.approvals.urls")),
    path("notifications/", include("cadang.server.notify.urls")),
    path("audit/", include("cadang.server.audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
