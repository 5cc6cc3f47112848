"""Fixtures of the runs app's tests: a clock the test moves, a plan in the catalog whose
repository exists."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cadang.backends.local import LocalBackend
from cadang.plan.loader import load_plan
from cadang.repo.keys import TEST_KDF
from cadang.repo.repository import Repository
from cadang.server.inventory.catalog import store_plan

from server.runs.runs_helpers import WIB, Catalog, Clock


@pytest.fixture
def clock() -> Clock:
    # A Friday morning in Jakarta; the daily schedule is at 01:00.
    return Clock(dt.datetime(2026, 11, 20, 10, 0, tzinfo=WIB))


@pytest.fixture
def catalog(db: None, defaults: None, sample_plan_file: Path) -> Catalog:
    """The sample plan in the catalog, its repository created."""
    root = sample_plan_file.parent
    Repository.init(LocalBackend(str(root / "repo")), "test-password", TEST_KDF).close()
    store_plan(load_plan(sample_plan_file))
    return Catalog(root, sample_plan_file)
