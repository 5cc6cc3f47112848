"""Fixtures of the notification tests: Django's SMTP backend pointed at a real server (or at
a closed port), and a webhook receiver; see notify_servers.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from server.notify.notify_servers import Mailbox, Webhook, free_port, smtp_server, webhook_server

PROXIES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def _point_mail_at(settings: Settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp(settings: Settings) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 that Django's SMTP backend sends to."""
    with smtp_server() as box:
        _point_mail_at(settings, box.port)
        yield box


@pytest.fixture
def smtp_down(settings: Settings) -> int:
    """Django's SMTP backend pointed at a port where nothing listens."""
    port = free_port()
    _point_mail_at(settings, port)
    return port


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXIES:  # the loopback, not through a proxy of the machine
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with webhook_server() as hook:
        yield hook


@pytest.fixture
def closed_port() -> int:
    return free_port()
