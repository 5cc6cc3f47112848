from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cadang.server.audit"
    label = "audit"
    verbose_name = "Audit"
