"""Fixtures of the server's tests: people with roles, a plan in the catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from cadang.server.accounts.models import Profile, Role
from cadang.server.defaults import ensure_defaults

PASSWORD = "a-long-test-password-9"


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Pages cache what is slow to compute (the audit log's actions); tests start clean."""
    cache.clear()


@pytest.fixture(autouse=True)
def english_outside_requests() -> Iterator[None]:
    """Code called outside a request speaks the office's default language, Indonesian; the
    tests match English source strings, as their users' profiles choose English."""
    with translation.override("en"):
        yield


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """make_user("kasi", Role.VERIFIER, unit="") -> a user with that role."""

    def make(username: str, role: Role | str, unit: str = "", email: str = "") -> User:
        user = User.objects.create_user(username=username, password=PASSWORD, email=email)
        Profile.objects.create(user=user, role=Role(role), unit=unit, language="en")
        return user

    return make


@pytest.fixture
def client_for(make_user: Callable[..., User]) -> Callable[..., Client]:
    """client_for(Role.OPERATOR) -> a test client logged in as a new user with that role."""

    def make(role: Role | str, unit: str = "", username: str | None = None) -> Client:
        user = make_user(username or f"user-{Role(role).value}", role, unit=unit)
        c = Client()
        c.force_login(user)
        return c

    return make


@pytest.fixture
def defaults(db: None) -> None:
    ensure_defaults()


@pytest.fixture
def sample_plan_file(tmp_path: Path) -> Path:
    """A small valid plan: two applications of two owners, files sources, one repository."""
    (tmp_path / "data-a").mkdir()
    (tmp_path / "data-a" / "a.txt").write_text("alpha\n")
    (tmp_path / "data-b").mkdir()
    (tmp_path / "data-b" / "b.txt").write_text("bravo\n")
    (tmp_path / "pass").write_text("test-password\n")
    plan = tmp_path / "cadang.yaml"
    plan.write_text(
        f"""organization:
  name: Dinas Uji
  code: uji
repositories:
  main:
    path: {tmp_path / "repo"}
    password_file: pass
applications:
  - name: simpeg
    owner: BKPSDM
    priority: daily
    sources:
      - name: files
        type: files
        paths: [{tmp_path / "data-a"}]
  - name: arsip
    owner: Sekretariat
    priority: weekly
    classification: confidential
    sources:
      - name: files
        type: files
        paths: [{tmp_path / "data-b"}]
"""
    )
    return plan
