from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "cadang.server.approvals"
    label = "approvals"
    verbose_name = "Approvals"
