"""`cadang admin create-demo-users`: one user per role, idempotent, the unit from the catalog."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from cadang.server.accounts.models import Profile, Role
from cadang.server.accounts.people import DemoStatus, create_demo_people
from cadang.server.audit.models import AuditEntry
from cadang.server.inventory.models import Application


def app(name: str, owner: str, position: int) -> Application:
    return Application.objects.create(
        name=name,
        owner=owner,
        priority="daily",
        classification="internal",
        config={},
        position=position,
    )


@pytest.mark.django_db
def test_one_user_per_role_with_a_working_password() -> None:
    app("arsip", "Sekretariat", position=2)
    app("simpeg", "BKPSDM", position=1)
    people = create_demo_people(actor="cli")
    assert [p.username for p in people] == [r.value for r in Role]
    assert all(p.status is DemoStatus.CREATED and len(p.password) >= 10 for p in people)
    for p in people:
        profile = Profile.objects.select_related("user").get(user__username=p.username)
        assert profile.role == p.role
        assert profile.user.email == f"{p.username}@demo.invalid"
    unit = Profile.objects.get(role=Role.UNIT)
    assert unit.unit == "BKPSDM"  # the owner of the first application in the plan's order
    assert AuditEntry.objects.filter(action="user_created", actor="cli").count() == len(Role)
    operator = next(p for p in people if p.role == "operator")
    client = Client()
    login = {"username": "operator", "password": operator.password}
    assert client.post("/accounts/login/", login).status_code == 302


@pytest.mark.django_db
def test_running_again_leaves_existing_users() -> None:
    first = create_demo_people("BKPSDM")
    kasi = User.objects.get(username="verifier")
    again = create_demo_people("BKPSDM")
    assert all(p.status is DemoStatus.EXISTS and p.password == "" for p in again)
    assert User.objects.count() == len(first)
    kasi_after = User.objects.get(username="verifier")
    assert kasi_after.password == kasi.password  # not reset


def test_an_existing_real_user_is_left(make_user: Callable[..., User]) -> None:
    make_user("admin", Role.ADMIN, email="it@dinas.test")
    people = {p.username: p for p in create_demo_people("BKPSDM")}
    assert people["admin"].status is DemoStatus.EXISTS
    assert User.objects.get(username="admin").email == "it@dinas.test"
    assert people["operator"].status is DemoStatus.CREATED


@pytest.mark.django_db
def test_without_unit_or_application_the_unit_user_is_skipped() -> None:
    people = {p.username: p for p in create_demo_people()}
    assert people["unit"].status is DemoStatus.NO_UNIT
    assert not User.objects.filter(username="unit").exists()
    assert people["head"].status is DemoStatus.CREATED


@pytest.mark.django_db
def test_the_given_unit_wins() -> None:
    app("simpeg", "BKPSDM", position=1)
    create_demo_people("Dinas Kominfo")
    assert Profile.objects.get(role=Role.UNIT).unit == "Dinas Kominfo"


def test_the_command_in_a_subprocess(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CADANG_SERVER_DATABASE", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(CADANG_STATE_DIR=str(tmp_path), CADANG_SECRET_KEY="t", CADANG_LANG="en")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cadang", "admin", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    first = run("create-demo-users", "--unit", "BKPSDM")
    assert first.returncode == 0, first.stderr
    created = re.findall(r"^created\s+(\S+)\s+(\S+)\s+password: (\S+)", first.stdout, re.M)
    assert [c[0] for c in created] == [r.value for r in Role]
    assert "unit: BKPSDM" in first.stdout
    assert "Keep these passwords" in first.stderr
    second = run("create-demo-users")
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("left as it is") == len(Role)
    assert "password" not in second.stdout
    listed = run("list-users")
    assert "unit" in listed.stdout and "BKPSDM" in listed.stdout
