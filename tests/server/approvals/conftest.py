"""Fixtures of the approvals tests: the chain's people, with e-mail addresses."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from cadang.server.accounts.models import Role


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user("adb", Role.OPERATOR, email="adb@example.org")


@pytest.fixture
def kasi(make_user: Callable[..., User]) -> User:
    return make_user("kasi", Role.VERIFIER, email="kasi@example.org")


@pytest.fixture
def kabid(make_user: Callable[..., User]) -> User:
    return make_user("kabid", Role.APPROVER, email="kabid@example.org")


@pytest.fixture
def kadis(make_user: Callable[..., User]) -> User:
    return make_user("kadis", Role.HEAD, email="kadis@example.org")
