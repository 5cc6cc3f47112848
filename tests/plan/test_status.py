"""cadang status: last backup, last verified restore, age against priority, check failures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_PASSWORD, Office

from cadang.backends import FileType
from cadang.backends.local import LocalBackend
from cadang.checks.base import Checklist, CheckRecord, Result
from cadang.checks.verify import verify_snapshot
from cadang.plan.model import Plan
from cadang.plan.run import plan_tags
from cadang.plan.state import StateStore
from cadang.plan.status import plan_status
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot, save_snapshot
from cadang.repo.verification import Kind, new_verification, save_verification
from cadang.sources.registry import make_source

NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def open_repo(office: Office) -> Repository:
    return Repository.open(LocalBackend(str(office.repo)), TEST_PASSWORD)


def backup(
    repo: Repository, plan: Plan, app: str, source: str, when: dt.datetime, verify: bool = True
) -> Snapshot:
    """A snapshot of a plan source as a run makes it, dated ``when`` (and verified then)."""
    application = plan.application(app)
    assert application is not None
    config = next(c for c in application.sources if c.name == source)
    spec = make_source(config).backup_spec()
    fresh, _summary = Archiver(repo).backup(
        BackupOptions(
            paths=spec.paths,
            streams=spec.streams,
            tags=plan_tags(application, source),
            label=f"{app}-{source}",
        )
    )
    # The same content, dated in the past: snapshots are immutable, so write one anew.
    old = Snapshot(
        time=when,
        tree=fresh.tree,
        paths=fresh.paths,
        hostname=fresh.hostname,
        username=fresh.username,
        tags=fresh.tags,
        label=f"{app}-{source}-{when:%Y%m%d-%H%M}",
        summary=fresh.summary,
    )
    save_snapshot(repo, old)
    repo.backend.remove(FileType.SNAPSHOT, fresh.id)
    if verify:
        v = verify_snapshot(
            repo, old, config, app=app, clock=lambda: when + dt.timedelta(minutes=5)
        )
        assert v.status == "passed", v.summary()
    return old


@pytest.fixture
def plan(office: Office) -> Plan:
    loaded = office.load()
    assert isinstance(loaded, Plan)
    return loaded


def by_source(report: Any) -> dict[tuple[str, str], Any]:
    return {(s.app, s.source): s for a in report.applications for s in a.sources}


def test_recent_verified_backups_are_in_order(office: Office, plan: Plan) -> None:
    repo = open_repo(office)
    try:
        for app, source in (("siak", "code"), ("siak", "db"), ("arsip", "docs")):
            backup(repo, plan, app, source, NOW - dt.timedelta(hours=20))
    finally:
        repo.close()
    report = plan_status(plan, clock=lambda: NOW, checklists=[])
    assert report.exit_code == 0, report.to_json()
    rows = by_source(report)
    db = rows["siak", "db"]
    assert db.last_backup is not None and db.last_backup.age_hours == 20
    assert db.last_good_backup is not None and db.last_good_backup.id == db.last_backup.id
    assert db.limit_hours == 26 and not db.overdue and db.problems == []
    assert db.last_verification is not None and db.last_verification.kind == "restore-test"
    assert db.last_verification.result == "passed"
    assert db.restorable_on == (NOW - dt.timedelta(hours=20, minutes=-5)).isoformat()
    assert "50 row(s) as at backup" in db.last_verification.summary
    assert rows["arsip", "docs"].limit_hours == 192


def test_a_daily_application_is_overdue_after_26_hours(office: Office, plan: Plan) -> None:
    repo = open_repo(office)
    try:
        for app, source in (("siak", "code"), ("siak", "db"), ("arsip", "docs")):
            backup(repo, plan, app, source, NOW - dt.timedelta(hours=27))
    finally:
        repo.close()
    report = plan_status(plan, clock=lambda: NOW, checklists=[])
    assert report.exit_code == 1
    siak, arsip = report.applications
    assert not siak.ok and arsip.ok  # weekly: 27 h is fine
    code = by_source(report)["siak", "code"]
    assert code.overdue
    assert code.problems == ["overdue: the last good backup is 27 h old (limit for daily: 26 h)"]

    # The limits are a plan option.
    office.plan["overdue_after_hours"] = {"daily": 30}
    relaxed = office.load()
    assert isinstance(relaxed, Plan)
    assert plan_status(relaxed, clock=lambda: NOW, checklists=[]).exit_code == 0


def test_a_failed_verification_leaves_the_previous_good_backup(office: Office, plan: Plan) -> None:
    repo = open_repo(office)
    try:
        backup(repo, plan, "arsip", "docs", NOW - dt.timedelta(days=3))
        good = backup(repo, plan, "siak", "db", NOW - dt.timedelta(hours=30))
        backup(repo, plan, "siak", "code", NOW - dt.timedelta(hours=2))
        bad = backup(repo, plan, "siak", "db", NOW - dt.timedelta(hours=2), verify=False)
        save_verification(
            repo,
            new_verification(
                bad.id,
                Kind.RESTORE_TEST,
                False,
                1.0,
                errors=["siak.db: table penduduk has 3 row(s), 50 at backup"],
                time=NOW - dt.timedelta(hours=1),
            ),
        )
    finally:
        repo.close()
    report = plan_status(plan, apps=["siak"], clock=lambda: NOW, checklists=[])
    assert [a.name for a in report.applications] == ["siak"]
    db = by_source(report)["siak", "db"]
    assert db.last_backup is not None and db.last_backup.id == bad.id
    assert db.last_good_backup is not None and db.last_good_backup.id == good.id
    assert db.overdue  # the good one is 30 h old
    assert db.last_verification is not None and db.last_verification.result == "failed"
    assert db.restorable_on is not None  # the older snapshot's test passed
    assert any("failed verification" in p and "50 at backup" in p for p in db.problems)
    assert report.exit_code == 1


def test_no_backup_at_all_is_overdue(office: Office, plan: Plan) -> None:
    report = plan_status(plan, clock=lambda: NOW, checklists=[])
    assert report.exit_code == 1
    for s in by_source(report).values():
        assert s.overdue and s.last_backup is None and s.problems == ["no good backup yet"]
        assert s.last_verification is None and s.restorable_on is None


def record(
    app: str, source: str, result: Result, summary: str, repository: str = ""
) -> CheckRecord:
    return CheckRecord(
        kind="database",
        subject=f"{app}/{source}" if app else f"repository {repository}",
        started=NOW.isoformat(),
        duration=0.1,
        result=result,
        summary=summary,
        app=app,
        source=source,
        repository=repository,
    )


def test_check_failures_of_the_last_checklist_are_shown(
    office: Office, plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = open_repo(office)
    try:
        for app, source in (("siak", "code"), ("siak", "db"), ("arsip", "docs")):
            backup(repo, plan, app, source, NOW - dt.timedelta(hours=1))
    finally:
        repo.close()
    older = Checklist(
        "Dinas", "vm", (NOW - dt.timedelta(hours=5)).isoformat(), apps=["siak", "arsip"]
    )
    older.records = [record("siak", "db", Result.FAILED, "an old failure")]
    newest = Checklist("Dinas", "vm", NOW.isoformat(), apps=["siak", "arsip"])
    newest.records = [
        record("siak", "db", Result.FAILED, "database unreachable: connection refused"),
        record("siak", "code", Result.PASSED, "fine"),
        record("", "", Result.FAILED, "only 1 GiB free", repository="main"),
    ]
    # Through the state directory, as a run or check-before leaves them.
    monkeypatch.setenv("CADANG_STATE_DIR", str(tmp_path / "state"))
    store = StateStore(tmp_path / "state")
    store.save_record("checks", older.to_json(), when=NOW - dt.timedelta(hours=5))
    store.save_record("checks", newest.to_json(), when=NOW)

    report = plan_status(plan, clock=lambda: NOW)
    siak, arsip = report.applications
    assert siak.check_failures == [
        "siak/db: database unreachable: connection refused",
        "repository main: only 1 GiB free",
    ]
    assert siak.checklist_time == NOW.isoformat()
    assert arsip.check_failures == ["repository main: only 1 GiB free"]
    assert report.exit_code == 1
    doc = report.to_json()
    assert doc["ok"] is False and doc["applications"][0]["check_failures"][0].startswith("siak/db")
