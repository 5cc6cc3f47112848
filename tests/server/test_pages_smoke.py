"""Every role can open the home page; anonymous visitors are sent to log in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from cadang.server.accounts.models import Role


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_the_dashboard(client_for: Callable[..., Client], role: Role) -> None:
    response = client_for(role, unit="BKPSDM").get("/")
    assert response.status_code == 200
    assert b"Dashboard" in response.content


@pytest.mark.django_db
def test_login_page_is_indonesian_by_default(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "id"
    assert b"Masuk" in response.content


@pytest.mark.django_db
def test_an_english_browser_still_gets_indonesian_before_log_in(client: Client) -> None:
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "id"
    assert b"Kata sandi" in response.content


@pytest.mark.django_db
def test_the_login_page_switch_chooses_english(client: Client) -> None:
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    response = client.get("/accounts/login/")
    assert response.headers["Content-Language"] == "en"
    assert b"Password" in response.content
