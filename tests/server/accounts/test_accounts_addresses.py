"""Behind the reverse proxy, lockout and the audit log use the client's address."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from cadang.server.accounts.models import Role
from cadang.server.audit.models import AuditEntry

LOGIN = "/accounts/login/"


def _fail(client: Client, forwarded: str) -> None:
    client.post(
        LOGIN,
        {"username": "kasi", "password": "wrong-password"},
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_behind_the_proxy_the_forwarded_address_counts(
    make_user: Callable[..., User], settings: Settings
) -> None:
    settings.CADANG_BEHIND_PROXY = True
    make_user("kasi", Role.VERIFIER)
    client = Client()
    # A client that forges the left part of the header is still seen as the proxy saw it.
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _fail(client, "10.9.9.9, 203.0.113.7")
    entry = AuditEntry.objects.filter(action="login_failed").order_by("-seq").first()
    assert entry is not None
    assert entry.details["address"] == "203.0.113.7"
    # Another client (another address) behind the same proxy is not locked out.
    other = Client()
    response = other.post(
        LOGIN,
        {"username": "kasi", "password": "a-long-test-password-9"},
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )
    assert response.status_code == 302
    # The locked-out address stays locked.
    response = client.post(
        LOGIN,
        {"username": "kasi", "password": "a-long-test-password-9"},
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_without_the_proxy_setting_the_header_is_ignored(
    client: Client, settings: Settings
) -> None:
    settings.CADANG_BEHIND_PROXY = False
    client.post(LOGIN, {"username": "nobody", "password": "x"}, HTTP_X_FORWARDED_FOR="203.0.113.7")
    entry = AuditEntry.objects.filter(action="login_failed").order_by("-seq").first()
    assert entry is not None
    assert entry.details["address"] == "127.0.0.1"
