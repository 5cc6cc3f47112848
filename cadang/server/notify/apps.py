from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "cadang.server.notify"
    label = "notify"
    verbose_name = "Notifications"
