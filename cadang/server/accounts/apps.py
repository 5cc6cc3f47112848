from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cadang.server.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from cadang.server.accounts import signals  # noqa: F401  (log-in/out into the audit log)
