"""The administrator's user pages: list, create, change, unlock; every change audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from cadang.server.accounts.forms import EditUserForm
from cadang.server.accounts.models import Profile, Role
from cadang.server.audit.models import AuditEntry

ClientFor = Callable[..., Client]
MakeUser = Callable[..., User]
PASSWORD = "a-long-test-password-9"
NEW_PASSWORD = "kata-sandi-awal-2026"


def new_user(**overrides: Any) -> dict[str, Any]:
    data = {
        "username": "budi",
        "full_name": "Budi Santoso",
        "email": "budi@dinas.test",
        "role": "operator",
        "unit": "",
        "language": "id",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


def edit_data(user: User, **overrides: Any) -> dict[str, Any]:
    profile = Profile.objects.get(user=user)
    data: dict[str, Any] = {
        "full_name": user.get_full_name(),
        "email": user.email,
        "role": profile.role,
        "unit": profile.unit,
        "language": profile.language,
        "is_active": "on" if user.is_active else "",
        "password1": "",
        "password2": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(make_user: MakeUser) -> tuple[User, Client]:
    user = make_user("chief", Role.ADMIN)
    client = Client()
    client.force_login(user)
    return user, client


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_the_administrator_manages_users(client_for: ClientFor, role: Role) -> None:
    client = client_for(role, unit="BKPSDM")
    assert client.get(reverse("accounts:users")).status_code == 403
    assert client.get(reverse("accounts:user_new")).status_code == 403
    assert client.post(reverse("accounts:user_new"), new_user()).status_code == 403
    assert not User.objects.filter(username="budi").exists()


def test_the_nav_links_follow_the_role(admin: tuple[User, Client], client_for: ClientFor) -> None:
    page = admin[1].get("/").content
    assert b'id="nav-users"' in page and b'id="nav-settings"' in page
    page = client_for(Role.VERIFIER).get("/").content
    assert b'id="nav-users"' not in page and b'id="nav-settings"' not in page


def test_the_list_shows_people_and_their_roles(
    admin: tuple[User, Client], make_user: MakeUser
) -> None:
    make_user("opd", Role.UNIT, unit="BKPSDM", email="opd@dinas.test")
    response = admin[1].get(reverse("accounts:users"))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-user="opd"' in text and "BKPSDM" in text and "opd@dinas.test" in text
    assert "Requesting unit (OPD)" in text


def test_create_a_user(admin: tuple[User, Client]) -> None:
    response = admin[1].post(
        reverse("accounts:user_new"), new_user(role="unit", unit="BKPSDM", language="en")
    )
    assert response.status_code == 302
    user = User.objects.get(username="budi")
    assert (user.first_name, user.last_name, user.email) == ("Budi", "Santoso", "budi@dinas.test")
    assert user.check_password(NEW_PASSWORD)
    profile = Profile.objects.get(user=user)
    assert (profile.role, profile.unit, profile.language) == ("unit", "BKPSDM", "en")
    entry = AuditEntry.objects.get(action="user_created")
    assert entry.actor == "chief" and entry.target == "budi"
    assert entry.details == {"role": "unit", "unit": "BKPSDM"}
    # The new user can log in with the initial password.
    assert (
        Client()
        .post("/accounts/login/", {"username": "budi", "password": NEW_PASSWORD})
        .status_code
        == 302
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password1": "short", "password2": "short"}, "This password is too short"),
        ({"password1": "12345678901234", "password2": "12345678901234"}, "entirely numeric"),
        ({"password2": "something-else-9876"}, "The two passwords differ."),
        ({"role": "unit", "unit": ""}, "A requesting unit needs its unit"),
        ({"username": "chief"}, "A user with this name exists already."),
        ({"username": "bad name!"}, "Enter a valid username"),
        ({"email": "not-an-address"}, "Enter a valid email address."),
        ({"role": "superhero"}, "Select a valid choice."),
    ],
)
def test_a_bad_new_user_is_explained(
    admin: tuple[User, Client], overrides: dict[str, str], message: str
) -> None:
    before = User.objects.count()
    response = admin[1].post(reverse("accounts:user_new"), new_user(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert User.objects.count() == before
    assert not AuditEntry.objects.filter(action="user_created").exists()


def test_change_role_unit_and_active(admin: tuple[User, Client], make_user: MakeUser) -> None:
    budi = make_user("budi", Role.OPERATOR, email="budi@dinas.test")
    url = reverse("accounts:user_edit", args=[budi.pk])
    assert admin[1].get(url).status_code == 200
    response = admin[1].post(url, edit_data(budi, role="unit", unit="BKPSDM", is_active=""))
    assert response.status_code == 302
    budi.refresh_from_db()
    profile = Profile.objects.get(user=budi)
    assert (profile.role, profile.unit, budi.is_active) == ("unit", "BKPSDM", False)
    entry = AuditEntry.objects.get(action="user_changed")
    assert entry.actor == "chief" and entry.target == "budi"
    assert entry.details["changes"] == {
        "role": ["operator", "unit"],
        "unit": ["", "BKPSDM"],
        "is_active": [True, False],
    }
    # An inactive user cannot log in.
    assert (
        Client().post("/accounts/login/", {"username": "budi", "password": PASSWORD}).status_code
        == 200
    )


def test_saving_unchanged_records_nothing(admin: tuple[User, Client], make_user: MakeUser) -> None:
    budi = make_user("budi", Role.OPERATOR)
    admin[1].post(reverse("accounts:user_edit", args=[budi.pk]), edit_data(budi))
    assert not AuditEntry.objects.filter(action="user_changed").exists()


def test_the_administrator_sets_a_new_password(
    admin: tuple[User, Client], make_user: MakeUser
) -> None:
    budi = make_user("budi", Role.OPERATOR)
    url = reverse("accounts:user_edit", args=[budi.pk])
    bad = admin[1].post(url, edit_data(budi, password1="short", password2="short"))
    assert bad.status_code == 200 and b"too short" in bad.content
    admin[1].post(url, edit_data(budi, password1=NEW_PASSWORD, password2=NEW_PASSWORD))
    budi.refresh_from_db()
    assert budi.check_password(NEW_PASSWORD)
    entry = AuditEntry.objects.get(action="user_changed")
    assert entry.details == {"changes": {}, "password_set": True}
    assert NEW_PASSWORD not in str(entry.details)


def test_the_administrator_cannot_lock_themself_out(admin: tuple[User, Client]) -> None:
    user, client = admin
    url = reverse("accounts:user_edit", args=[user.pk])
    for change in ({"role": "auditor"}, {"is_active": ""}):
        response = client.post(url, edit_data(user, **change))
        assert response.status_code == 200
        assert b"You cannot take away your own administrator access." in response.content
    assert Profile.objects.get(user=user).role == "admin"


def test_the_last_active_administrator_stays(make_user: MakeUser) -> None:
    chief = make_user("chief", Role.ADMIN)
    second = make_user("second", Role.ADMIN)
    gone = make_user("gone", Role.ADMIN)
    gone.is_active = False
    gone.save()
    by_second = Client()
    by_second.force_login(second)
    # "second" may demote "chief": an administrator remains ("second").
    url = reverse("accounts:user_edit", args=[chief.pk])
    assert by_second.post(url, edit_data(chief, role="auditor")).status_code == 302
    assert Profile.objects.get(user=chief).role == "auditor"
    # Now "second" is the last active one (the inactive "gone" does not count).
    form = EditUserForm(edit_data(second, role="operator"), user=second, editor=chief)
    assert not form.is_valid()
    assert "This is the last active administrator." in form.non_field_errors()


def test_the_last_administrator_cannot_be_removed(admin: tuple[User, Client]) -> None:
    chief, _client = admin
    other = User.objects.create_user("other")
    form = EditUserForm(edit_data(chief, role="operator"), user=chief, editor=other)
    assert not form.is_valid()
    assert "This is the last active administrator." in form.non_field_errors()


def test_an_unknown_user_is_404(admin: tuple[User, Client]) -> None:
    assert admin[1].get(reverse("accounts:user_edit", args=[99999])).status_code == 404


def test_unlock_from_the_page(admin: tuple[User, Client], make_user: MakeUser) -> None:
    budi = make_user("budi", Role.OPERATOR)
    outsider = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        outsider.post("/accounts/login/", {"username": "budi", "password": "wrong"})
    listing = admin[1].get(reverse("accounts:users")).content.decode()
    assert "locked" in listing
    page = admin[1].get(reverse("accounts:user_edit", args=[budi.pk]))
    assert b'id="unlock-user"' in page.content
    response = admin[1].post(reverse("accounts:user_unlock", args=[budi.pk]), follow=True)
    assert b"was unlocked" in response.content
    assert (
        outsider.post("/accounts/login/", {"username": "budi", "password": PASSWORD}).status_code
        == 302
    )
    assert AuditEntry.objects.get(action="user_unlocked").actor == "chief"
