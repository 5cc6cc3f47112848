"""A run narrowed to some sources (the server's retry of the sources that failed)."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import Office, reopen

from cadang.errors import UsageError
from cadang.plan.model import Plan
from cadang.plan.run import Runner, Status
from cadang.plan.selection import select_applications, select_sources
from cadang.repo.snapshot import load_all

NOW = dt.datetime(2026, 3, 14, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def plan_of(office: Office) -> Plan:
    plan = office.load()
    assert isinstance(plan, Plan)
    return plan


def test_only_the_named_sources_are_backed_up(office: Office) -> None:
    plan = plan_of(office)
    report = Runner(plan, apps=["siak"], sources=["db"], clock=lambda: NOW, lock_wait=0).run()
    assert [(r.app, r.source, r.status) for r in report.results] == [
        ("siak", "db", Status.SUCCEEDED)
    ]
    repo = reopen(office.repo)
    try:
        snaps = load_all(repo)
    finally:
        repo.close()
    assert [s.label for s in snaps] == ["dinas-uji-siak-db-20260314-0130"]
    # The pre-backup checklist covered only what was backed up (no antivirus of siak/code).
    assert report.checks is not None
    assert not [r for r in report.checks.records if r.source == "code"]
    # The plan itself is untouched: siak still has both sources.
    siak = plan.application("siak")
    assert siak is not None and [s.name for s in siak.sources] == ["code", "db"]


def test_applications_without_a_named_source_are_left_out(office: Office) -> None:
    plan = plan_of(office)
    chosen = select_sources(select_applications(plan), ["docs"])
    assert [(a.name, [s.name for s in a.sources]) for a in chosen] == [("arsip", ["docs"])]
    assert select_sources(select_applications(plan), []) == []
    # None: every source, as before.
    runner = Runner(plan, sources=None)
    assert [len(a.sources) for a in runner.applications] == [2, 1]


def test_an_unknown_source_is_a_usage_error(office: Office) -> None:
    plan = plan_of(office)
    with pytest.raises(UsageError) as err:
        Runner(plan, apps=["siak"], sources=["db", "docs"])
    assert "docs" in err.value.message  # arsip has it, but arsip was not selected
    assert err.value.hint is not None and "code" in err.value.hint
