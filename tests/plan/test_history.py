"""History: snapshots by application and source, newest first, from the run's tags."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import Office

from cadang.errors import UsageError
from cadang.plan.history import load_history
from cadang.plan.model import Plan
from cadang.plan.run import Runner

TZ = dt.timezone(dt.timedelta(hours=7))


def test_history_by_application_and_source_newest_first(office: Office) -> None:
    plan = office.load()
    assert isinstance(plan, Plan)
    day1 = dt.datetime(2026, 1, 1, 2, 0, tzinfo=TZ)
    day2 = dt.datetime(2026, 1, 2, 2, 0, tzinfo=TZ)
    Runner(plan, clock=lambda: day1, lock_wait=0).run()
    Runner(plan, apps=["siak"], clock=lambda: day2, lock_wait=0).run()

    history = load_history(plan)
    groups = [(app, src, [e.label for e in es]) for app, src, es in history.groups()]
    assert groups == [
        (
            "siak",
            "code",
            ["dinas-uji-siak-code-20260102-0200", "dinas-uji-siak-code-20260101-0200"],
        ),
        ("siak", "db", ["dinas-uji-siak-db-20260102-0200", "dinas-uji-siak-db-20260101-0200"]),
        ("arsip", "docs", ["dinas-uji-arsip-docs-20260101-0200"]),
    ]
    entry = history.groups()[1][2][0]
    assert entry.size > 0 and len(entry.id) == 64 and entry.repository == "main"
    assert history.entries[0].time >= history.entries[1].time

    only = load_history(plan, "arsip")
    assert [(a, s) for a, s, _e in only.groups()] == [("arsip", "docs")]
    doc = only.to_json()
    assert doc["applications"][0]["snapshots"][0]["label"] == "dinas-uji-arsip-docs-20260101-0200"

    with pytest.raises(UsageError) as err:
        load_history(plan, "simpeg")
    assert err.value.hint is not None and "siak" in err.value.hint


def test_history_ignores_snapshots_not_made_by_a_run(office: Office) -> None:
    from conftest import reopen

    from cadang.repo.archiver import Archiver, BackupOptions

    repo = reopen(office.repo)
    try:
        Archiver(repo).backup(BackupOptions(paths=[str(office.docs)], tags=["manual"]))
    finally:
        repo.close()
    plan = office.load()
    assert isinstance(plan, Plan)
    assert load_history(plan).entries == []
