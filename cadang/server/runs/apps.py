from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "cadang.server.runs"
    label = "runs"
    verbose_name = "Runs"
