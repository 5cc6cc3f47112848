"""Running a plan: one snapshot per source, failures recorded, selection, dry run,
retention per priority and copies to the external disk."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from conftest import IS_ROOT, TEST_PASSWORD, Office, reopen

from cadang.errors import UsageError
from cadang.plan.model import Plan
from cadang.plan.run import Runner, RunReport, SourceResult, Status
from cadang.repo.locks import Lock
from cadang.repo.snapshot import Snapshot, load_all, save_snapshot

WIB = dt.timezone(dt.timedelta(hours=8))  # WITA, Buleleng
NOW = dt.datetime(2026, 3, 14, 1, 30, tzinfo=WIB)


def fixed(when: dt.datetime = NOW) -> dt.datetime:
    return when


def run(plan: object, **kw: object) -> RunReport:
    assert isinstance(plan, Plan)
    kw.setdefault("clock", fixed)
    kw.setdefault("lock_wait", 0.0)
    return Runner(plan, **kw).run()  # type: ignore[arg-type]


def snapshots(repo: Path) -> list[Snapshot]:
    r = reopen(repo)
    try:
        return load_all(r)
    finally:
        r.close()


def by_key(report: RunReport) -> dict[tuple[str, str], SourceResult]:
    return {(r.app, r.source): r for r in report.results}


def test_run_writes_one_labelled_tagged_snapshot_per_source(office: Office) -> None:
    report = run(office.load())
    assert report.exit_code == 0
    assert [(r.app, r.source, r.status) for r in report.results] == [
        ("siak", "code", Status.SUCCEEDED),
        ("siak", "db", Status.SUCCEEDED),
        ("arsip", "docs", Status.SUCCEEDED),
    ]
    snaps = {s.id: s for s in snapshots(office.repo)}
    assert len(snaps) == 3
    rows = by_key(report)
    db = snaps[rows["siak", "db"].snapshot_id]
    assert db.label == "dinas-uji-siak-db-20260314-0130"
    assert set(db.tags) == {
        "app:siak",
        "source:db",
        "owner:Bidang PIAK",
        "priority:daily",
        "classification:confidential",
    }
    code = snaps[rows["siak", "code"].snapshot_id]
    assert code.label == "dinas-uji-siak-code-20260314-0130"
    assert code.paths == [str(office.code)]
    docs = snaps[rows["arsip", "docs"].snapshot_id]
    assert "priority:weekly" in docs.tags and "classification:internal" in docs.tags
    assert rows["siak", "db"].size > 0 and rows["siak", "code"].files == 2
    # The JSON report groups sources by application and totals them.
    doc = report.to_json()
    assert [a["name"] for a in doc["applications"]] == ["siak", "arsip"]
    assert doc["applications"][0]["status"] == "succeeded"
    assert doc["totals"]["succeeded"] == 3 and doc["totals"]["failed"] == 0
    assert doc["applications"][0]["sources"][1]["label"] == db.label


def test_a_failing_source_does_not_stop_the_run(office: Office) -> None:
    siak = office.apps()[0]
    siak["sources"] = [  # type: ignore[index]
        {"type": "command", "name": "broken", "backup": ["sh", "-c", "echo partial; exit 1"]},
        {"type": "sqlite", "name": "db", "path": str(office.root / "missing.db")},
        {"type": "files", "name": "code", "paths": [str(office.code)]},
    ]
    report = run(office.load())
    rows = by_key(report)
    assert report.exit_code == 1
    assert rows["siak", "broken"].status is Status.FAILED
    assert "exit code 1" in rows["siak", "broken"].error
    assert rows["siak", "db"].status is Status.FAILED
    assert "missing.db" in rows["siak", "db"].error
    assert rows["siak", "code"].status is Status.SUCCEEDED
    assert rows["arsip", "docs"].status is Status.SUCCEEDED
    written = snapshots(office.repo)
    assert sorted(s.label.split("-")[3] for s in written) == ["code", "docs"]
    assert report.to_json()["applications"][0]["status"] == "failed"


def test_selection_by_priority_and_application(office: Office) -> None:
    plan = office.load()
    weekly = run(plan, priority="weekly")
    assert [(r.app, r.source) for r in weekly.results] == [("arsip", "docs")]
    one = run(plan, apps=["siak"])
    assert [(r.app, r.source) for r in one.results] == [("siak", "code"), ("siak", "db")]
    assert len(snapshots(office.repo)) == 3
    with pytest.raises(UsageError) as err:
        Runner(plan, apps=["siak", "simpeg"])  # type: ignore[arg-type]
    assert "simpeg" in err.value.message
    assert err.value.hint is not None and "siak" in err.value.hint and "arsip" in err.value.hint
    with pytest.raises(UsageError):
        Runner(plan, priority="hourly")  # type: ignore[arg-type]


def test_dry_run_touches_nothing(office: Office) -> None:
    before = sorted(p.relative_to(office.repo) for p in office.repo.rglob("*"))
    report = run(office.load(), dry_run=True)
    assert report.dry_run and report.exit_code == 0
    assert {r.status for r in report.results} == {Status.PLANNED}
    db = by_key(report)["siak", "db"]
    assert db.label == "dinas-uji-siak-db-20260314-0130"
    assert db.steps and any("siak.db" in s for s in db.steps)
    assert any("keep_last=50" in r.message for r in report.retention)
    assert sorted(p.relative_to(office.repo) for p in office.repo.rglob("*")) == before
    assert snapshots(office.repo) == []


def test_missing_repository_fails_its_applications_with_a_hint(office: Office) -> None:
    office.add_repository("other", office.root / "not-made", init=False)
    office.apps()[1]["repository"] = "other"
    report = run(office.load())
    rows = by_key(report)
    assert rows["siak", "db"].status is Status.SUCCEEDED
    assert rows["arsip", "docs"].status is Status.FAILED
    assert "not-made" in rows["arsip", "docs"].error
    assert "cadang init" in rows["arsip", "docs"].hint
    assert report.exit_code == 1


def _fake_old(repo_path: Path, app: str, source: str, priority: str, days: list[int]) -> None:
    """Snapshots of (app, source) made ``days`` ago, sharing the tree of the newest one."""
    repo = reopen(repo_path)
    try:
        base = next(s for s in reversed(load_all(repo)) if f"source:{source}" in s.tags)
        for d in days:
            when = dt.datetime.now().astimezone() - dt.timedelta(days=d)
            save_snapshot(
                repo,
                Snapshot(
                    time=when,
                    tree=base.tree,
                    paths=base.paths,
                    hostname=base.hostname,
                    username=base.username,
                    tags=[f"app:{app}", f"source:{source}", f"priority:{priority}"],
                    label=f"old-{source}-{d}",
                ),
            )
    finally:
        repo.close()


def test_retention_per_priority_forgets_and_prunes(office: Office) -> None:
    office.plan["retention"] = {"daily": {"keep_daily": 3}, "weekly": {"keep_weekly": 2}}
    plan = office.load()
    # Data only the first snapshot of siak/code holds, so prune has something to free.
    (office.code / "big.bin").write_bytes(os.urandom(300_000))
    first = run(plan)
    assert [r.status for r in first.retention] == ["nothing"]
    # A week of older daily backups of siak/db, and older weekly ones of arsip/docs.
    _fake_old(office.repo, "siak", "db", "daily", [1, 2, 3, 4, 5, 6, 7])
    _fake_old(office.repo, "arsip", "docs", "weekly", [7, 14, 21, 28])
    (office.code / "big.bin").unlink()

    report = run(plan, priority="daily")
    assert report.exit_code == 0
    [ret] = report.retention
    assert ret.status == "applied"
    left = snapshots(office.repo)
    db = [s for s in left if "source:db" in s.tags]
    # keep_daily=3: the newest of today and the newest of each of the two days before.
    assert len(db) == 3
    assert {s.label for s in db} >= {"old-db-1", "old-db-2"}
    code = [s for s in left if "source:code" in s.tags]
    assert len(code) == 1 and code[0].id == by_key(report)["siak", "code"].snapshot_id
    # The weekly group was not touched by a run of the daily priority.
    assert len([s for s in left if "source:docs" in s.tags]) == 5
    assert ret.forgotten == 1 + 1 + 5  # siak/code: 1; siak/db: today's older one and days 3-7
    forgotten = {f["label"] for g in ret.groups for f in g.forgotten}
    assert {"old-db-3", "old-db-7"} <= forgotten
    # Something was forgotten, so prune ran and freed the big file's data.
    assert ret.prune is not None
    assert ret.prune["packs_repacked"] or ret.prune["packs_deleted"]
    assert isinstance(ret.prune["bytes_freed"], int) and ret.prune["bytes_freed"] > 250_000


def test_retention_is_postponed_when_the_repository_is_busy(office: Office) -> None:
    other = reopen(office.repo)
    lock = Lock(other, exclusive=False)
    lock.acquire()
    try:
        report = run(office.load())
    finally:
        lock.release()
        other.close()
    assert report.exit_code == 0  # the backups ran beside the other shared lock
    assert [r.status for r in report.retention] == ["postponed"]
    assert "postponed" in report.retention[0].message


def test_copies_go_to_a_present_external_disk(office: Office) -> None:
    disk = office.add_repository("external-disk", office.root / "disk")
    office.plan["copies"] = ["external-disk"]
    report = run(office.load(), apps=["siak"])
    [copy] = report.copies
    assert copy.status == "copied" and copy.copied == 2
    copied = snapshots(disk)
    assert sorted(s.label for s in copied) == [
        "dinas-uji-siak-code-20260314-0130",
        "dinas-uji-siak-db-20260314-0130",
    ]
    assert all("app:siak" in s.tags for s in copied)
    # The next run copies only its own snapshots.
    again = run(office.load(), apps=["arsip"])
    assert again.copies[0].copied == 1
    assert len(snapshots(disk)) == 3


def test_an_absent_external_disk_is_reported_not_fatal(office: Office) -> None:
    office.add_repository("external-disk", office.root / "unplugged", init=False)
    office.plan["copies"] = ["external-disk"]
    report = run(office.load())
    assert report.exit_code == 0
    [copy] = report.copies
    assert copy.status == "not present"
    assert "external-disk not present" in copy.message
    assert "copy skipped" in copy.message
    assert copy.message in report.messages()


def test_a_failing_copy_is_reported_not_fatal(office: Office) -> None:
    disk = office.add_repository("external-disk", office.root / "disk")
    wrong = office.root / "wrong-pass"
    wrong.write_text("not " + TEST_PASSWORD)
    office.plan["repositories"]["external-disk"]["password_file"] = str(wrong)  # type: ignore[index]
    office.plan["copies"] = ["external-disk"]
    report = run(office.load())
    assert report.exit_code == 0
    assert report.copies[0].status == "failed"
    assert "copy to external-disk failed" in report.copies[0].message
    assert snapshots(disk) == []
    assert len(snapshots(office.repo)) == 3


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their mode")
def test_unreadable_files_make_a_partial_source(office: Office) -> None:
    secret = office.code / "secret.conf"
    secret.write_text("no\n")
    secret.chmod(0)
    try:
        report = run(office.load(), apps=["siak"])
    finally:
        secret.chmod(0o600)
    code = by_key(report)["siak", "code"]
    assert code.status is Status.PARTIAL and code.snapshot_id
    assert [p for p, _m in code.unreadable] == [str(secret)]
    assert report.exit_code == 3
