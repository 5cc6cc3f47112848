"""Log-in, log-out and failed log-in go into the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from cadang.server.accounts.addresses import client_address
from cadang.server.audit.log import record


def _address(request: Any) -> str:
    if request is None:
        return ""
    return client_address(request)


@receiver(user_logged_in)
def logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("login", user=user, target=user.get_username(), details={"address": _address(request)})


@receiver(user_logged_out)
def logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record("logout", user=user, target=user.get_username())


@receiver(user_login_failed)
def login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    record(
        "login_failed",
        actor="",
        target=str(credentials.get("username", ""))[:150],
        details={"address": _address(request)},
    )
