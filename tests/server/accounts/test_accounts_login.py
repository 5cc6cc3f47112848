"""Log-in lockout (django-axes), idle sessions, the password page, each person's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from cadang.server.accounts.models import Profile, Role
from cadang.server.accounts.people import unlock_person
from cadang.server.audit.models import AuditEntry

PASSWORD = "a-long-test-password-9"  # tests/server/conftest.py
MakeUser = Callable[..., User]
LOGIN = "/accounts/login/"


def log_in(client: Client, username: str, password: str) -> object:
    return client.post(LOGIN, {"username": username, "password": password})


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_five_failures_lock_the_account(make_user: MakeUser) -> None:
    make_user("kasi", Role.VERIFIER)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "kasi", "wrong-password")
    response = log_in(client, "kasi", PASSWORD)
    assert response.status_code == 429  # type: ignore[attr-defined]
    # Before log-in the page is in the office's language, Bahasa Indonesia.
    assert b"Akun terkunci" in response.content  # type: ignore[attr-defined]
    assert not is_logged_in(client)
    failed = AuditEntry.objects.filter(action="login_failed", target="kasi")
    assert failed.count() >= settings.AXES_FAILURE_LIMIT
    assert failed.first().details["address"] == "127.0.0.1"  # type: ignore[union-attr]


def test_four_failures_do_not_lock(make_user: MakeUser) -> None:
    make_user("kasi", Role.VERIFIER)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "kasi", "wrong-password").status_code == 200  # type: ignore[attr-defined]
    assert log_in(client, "kasi", PASSWORD).status_code == 302  # type: ignore[attr-defined]
    assert is_logged_in(client)


def test_unlock_user_clears_the_lock(make_user: MakeUser) -> None:
    make_user("kasi", Role.VERIFIER)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "kasi", "wrong-password")
    assert log_in(client, "kasi", PASSWORD).status_code == 429  # type: ignore[attr-defined]
    assert unlock_person("kasi", actor="cli") >= 1
    assert log_in(client, "kasi", PASSWORD).status_code == 302  # type: ignore[attr-defined]
    assert is_logged_in(client)
    unlocked = AuditEntry.objects.get(action="user_unlocked")
    assert unlocked.target == "kasi" and unlocked.actor == "cli"


def test_the_lock_ends_after_the_cool_off(make_user: MakeUser) -> None:
    make_user("kasi", Role.VERIFIER)
    client = Client()
    start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            log_in(client, "kasi", "wrong-password")
        clock.shift(dt.timedelta(minutes=14))
        # Still locked; and trying while locked starts the 15 minutes again (axes' default).
        assert log_in(client, "kasi", PASSWORD).status_code == 429  # type: ignore[attr-defined]
        clock.shift(dt.timedelta(minutes=14))
        assert log_in(client, "kasi", PASSWORD).status_code == 429  # type: ignore[attr-defined]
        clock.shift(dt.timedelta(minutes=16))
        assert log_in(client, "kasi", PASSWORD).status_code == 302  # type: ignore[attr-defined]


def test_an_idle_session_expires(make_user: MakeUser) -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    make_user("kasi", Role.VERIFIER)
    client = Client()
    age = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC), tick=False) as clock:
        assert log_in(client, "kasi", PASSWORD).status_code == 302  # type: ignore[attr-defined]
        # Each request renews the session: an hour of work in 25-minute steps stays logged in.
        for _ in range(3):
            clock.shift(age - dt.timedelta(minutes=5))
            assert client.get("/").status_code == 200
        clock.shift(age + dt.timedelta(seconds=1))
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_password_change_is_audited(make_user: MakeUser) -> None:
    user = make_user("kasi", Role.VERIFIER)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("accounts:password_change")).status_code == 200
    new = "another-long-passphrase-42"
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    assert AuditEntry.objects.filter(action="password_changed", actor="kasi").count() == 1
    assert client.get("/").status_code == 200  # still logged in after the change


def test_a_bad_password_change_is_refused(make_user: MakeUser) -> None:
    user = make_user("kasi", Role.VERIFIER)
    client = Client()
    client.force_login(user)
    for data in (
        {
            "old_password": "wrong",
            "new_password1": "x-long-pass-1234",
            "new_password2": "x-long-pass-1234",
        },
        {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    ):
        assert client.post(reverse("accounts:password_change"), data).status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not AuditEntry.objects.filter(action="password_changed").exists()


@pytest.mark.parametrize("lang", ["id", "en"])
def test_pages_come_in_the_profile_language(make_user: MakeUser, lang: str) -> None:
    user = make_user("kasi", Role.VERIFIER)
    Profile.objects.filter(user=user).update(language=lang)
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == lang
    assert f'<html lang="{lang}">'.encode() in response.content


def test_the_language_switch_keeps_the_choice_on_the_profile(make_user: MakeUser) -> None:
    user = make_user("kasi", Role.VERIFIER)  # English
    client = Client()
    client.force_login(user)
    response = client.post(reverse("accounts:language"), {"language": "id", "next": "/runs/"})
    assert response.status_code == 302 and response["Location"] == "/runs/"
    assert Profile.objects.get(user=user).language == "id"
    assert client.get("/").headers["Content-Language"] == "id"
    assert AuditEntry.objects.get(action="language_changed").details == {"language": "id"}


def test_the_language_switch_stays_on_this_site(make_user: MakeUser) -> None:
    client = Client()
    client.force_login(make_user("kasi", Role.VERIFIER))
    response = client.post(
        reverse("accounts:language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_an_unknown_language_is_ignored(make_user: MakeUser) -> None:
    user = make_user("kasi", Role.VERIFIER)
    client = Client()
    client.force_login(user)
    client.post(reverse("accounts:language"), {"language": "xx"})
    assert Profile.objects.get(user=user).language == "en"
    assert client.get(reverse("accounts:language")).status_code == 405
