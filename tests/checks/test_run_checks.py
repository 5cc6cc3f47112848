"""The checks at the start of a run: what they stop, leave out or let through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from checks_helpers import EICAR, Clamd, clamd, sigdb
from conftest import Office, reopen

from cadang.checks.base import Result
from cadang.plan.model import Plan
from cadang.plan.prechecks import run_prechecks
from cadang.plan.run import Runner, RunReport, SourceResult, Status
from cadang.plan.state import open_state
from cadang.repo.snapshot import find_snapshot, load_all
from cadang.repo.walker import walk

__all__ = ["clamd", "sigdb"]

CONTACTS = [
    {"name": "Made Wirawan", "role": "Kasi", "email": "made@example.go.id"},
    {"name": "Ketut Sudarma", "role": "Kabid", "phone": "0812-3456-7890"},
]


def infected_office(office: Office, sigdb: Path, policy: str | None = None) -> Plan:
    """The office with ClamAV pointed at the test signatures and EICAR in siak's code."""
    (office.code / "upload.com").write_bytes(EICAR)
    office.plan["antivirus"] = {"database": str(sigdb)}
    office.plan["escalation"] = CONTACTS
    if policy:
        office.apps()[0]["antivirus"] = {"on_infection": policy}
    plan = office.load()
    assert isinstance(plan, Plan)
    return plan


def run(plan: Plan, **kw: object) -> RunReport:
    return Runner(plan, lock_wait=0.0, **kw).run()  # type: ignore[arg-type]


def rows(report: RunReport) -> dict[tuple[str, str], SourceResult]:
    return {(r.app, r.source): r for r in report.results}


def snapshot_names(repo: Path, snapshot_id: str) -> set[str]:
    r = reopen(repo)
    try:
        r.load_index()
        snap = find_snapshot(r, snapshot_id)
        return {os.path.basename(p).decode() for p, _n in walk(r, snap.tree)}
    finally:
        r.close()


def test_clean_office_passes_every_check(office: Office, sigdb: Path) -> None:
    office.plan["antivirus"] = {"database": str(sigdb)}
    report = run(office.load())  # type: ignore[arg-type]
    assert report.exit_code == 0
    checks = report.checks
    assert checks is not None and checks.status is Result.PASSED, [
        r.summary for r in checks.records if r.result is not Result.PASSED
    ]
    kinds = [(r.kind, r.subject) for r in checks.records]
    assert kinds == [
        ("network", "repository main"),
        ("storage", "repository main"),
        ("antivirus", "siak/code"),
        ("database", "siak/db"),
        ("antivirus", "arsip/docs"),
    ]
    assert not report.needs_attention and report.escalation == []
    doc = report.to_json()
    assert doc["checks"]["status"] == "passed" and doc["needs_attention"] is False


def test_run_blocks_the_infected_application_and_backs_up_the_others(
    office: Office, sigdb: Path
) -> None:
    report = run(infected_office(office, sigdb))
    got = rows(report)
    for source in ("code", "db"):  # the whole application is blocked
        r = got["siak", source]
        assert r.status is Status.FAILED and not r.snapshot_id
        assert "antivirus check found 1 infected file(s) in code" in r.error
    assert got["arsip", "docs"].status is Status.SUCCEEDED
    assert report.exit_code == 1
    assert report.needs_attention and report.escalation == CONTACTS
    repo = reopen(office.repo)
    try:
        assert [s.tags[0] for s in load_all(repo)] == ["app:arsip"]
    finally:
        repo.close()
    assert report.checks is not None
    av = next(r for r in report.checks.records if r.subject == "siak/code")
    assert av.result is Result.FAILED
    assert av.details["infected"][0]["path"] == str(office.code / "upload.com")
    # Both records are in the state directory.
    state = open_state()
    assert state.load_checklists()[0].failures()[0].subject == "siak/code"
    assert state.load_run_reports()[0]["needs_attention"] is True


def test_quarantine_leaves_the_file_out_and_lists_it(office: Office, sigdb: Path) -> None:
    report = run(infected_office(office, sigdb, "quarantine-and-continue"))
    got = rows(report)
    code = got["siak", "code"]
    assert code.status is Status.SUCCEEDED
    assert code.quarantined == [str(office.code / "upload.com")]
    names = snapshot_names(office.repo, code.snapshot_id)
    assert "index.php" in names and "upload.com" not in names
    assert got["siak", "db"].status is Status.SUCCEEDED
    assert report.exit_code == 0 and report.needs_attention  # an infection is escalated
    assert report.checks is not None and report.checks.status is Result.WARNING


def test_warn_backs_the_file_up_and_warns(office: Office, sigdb: Path) -> None:
    report = run(infected_office(office, sigdb, "warn"))
    code = rows(report)["siak", "code"]
    assert code.status is Status.SUCCEEDED and code.quarantined == []
    assert "upload.com" in snapshot_names(office.repo, code.snapshot_id)
    assert report.checks is not None
    av = next(r for r in report.checks.records if r.subject == "siak/code")
    assert av.result is Result.WARNING and av.escalate and av.details["action"] == "warned"
    assert report.needs_attention


def test_failed_database_check_fails_only_that_source(office: Office, sigdb: Path) -> None:
    office.plan["antivirus"] = {"database": str(sigdb)}
    office.db.unlink()
    report = run(office.load())  # type: ignore[arg-type]
    got = rows(report)
    assert got["siak", "db"].status is Status.FAILED
    assert got["siak", "db"].error.startswith("the pre-backup database check failed:")
    assert got["siak", "code"].status is Status.SUCCEEDED
    assert got["arsip", "docs"].status is Status.SUCCEEDED
    assert report.needs_attention and report.exit_code == 1


def test_unreachable_repository_fails_its_applications(office: Office, sigdb: Path) -> None:
    office.plan["antivirus"] = {"database": str(sigdb)}
    office.add_repository("other", office.root / "unplugged", init=False)
    office.apps()[1]["repository"] = "other"
    report = run(office.load())  # type: ignore[arg-type]
    got = rows(report)
    assert got["siak", "code"].status is Status.SUCCEEDED
    docs = got["arsip", "docs"]
    assert docs.status is Status.FAILED
    assert "repository other failed the pre-backup network check" in docs.error
    assert report.checks is not None
    storage = [r for r in report.checks.records if r.kind == "storage"]
    assert [(r.repository, r.result) for r in storage] == [
        ("main", Result.PASSED),
        ("other", Result.SKIPPED),
    ]


def test_storage_expects_what_the_last_run_added(office: Office, sigdb: Path) -> None:
    office.plan["antivirus"] = {"database": str(sigdb)}
    plan = office.load()
    assert isinstance(plan, Plan)
    first = run(plan)
    pre = run_prechecks(plan, plan.applications, state=open_state(plan))
    storage = next(r for r in pre.checklist.records if r.kind == "storage")
    assert storage.details["expected_bytes"] == sum(r.data_added for r in first.results)
    assert storage.details["wanted_bytes"] == 2 * storage.details["expected_bytes"]
    assert "the last run added" in storage.summary


def test_skip_checks_is_recorded_and_needs_attention(office: Office, sigdb: Path) -> None:
    plan = infected_office(office, sigdb)
    report = run(plan, skip_checks=True)
    assert rows(report)["siak", "code"].status is Status.SUCCEEDED  # nothing stopped it
    assert report.checks is not None and report.checks.records == []
    assert "--skip-checks" in report.checks.skipped
    assert report.needs_attention and report.escalation == CONTACTS
    assert open_state().load_checklists()[0].skipped == report.checks.skipped


def test_dry_run_makes_no_checks(office: Office) -> None:
    report = run(office.load(), dry_run=True)  # type: ignore[arg-type]
    assert report.checks is None
    assert open_state().load_checklists() == []


def test_absent_copy_disk_is_a_warning(office: Office, sigdb: Path) -> None:
    office.plan["antivirus"] = {"database": str(sigdb)}
    office.add_repository("external-disk", office.root / "media" / "disk", init=False)
    office.plan["copies"] = ["external-disk"]
    report = run(office.load())  # type: ignore[arg-type]
    assert report.exit_code == 0
    assert report.checks is not None
    net = next(r for r in report.checks.records if r.repository == "external-disk")
    assert net.result is Result.WARNING and not net.escalate
    assert not report.needs_attention


@pytest.mark.parametrize("required", [False, True])
def test_missing_clamav_in_a_run(
    office: Office, sigdb: Path, monkeypatch: pytest.MonkeyPatch, required: bool
) -> None:
    from checks_helpers import path_without

    (office.code / "upload.com").write_bytes(EICAR)
    office.plan["antivirus"] = {"database": str(sigdb)}
    office.apps()[0]["antivirus"] = {"required": required}
    monkeypatch.setenv("PATH", path_without("clamscan", "clamd"))
    report = run(office.load())  # type: ignore[arg-type]
    assert report.checks is not None
    av = next(r for r in report.checks.records if r.subject == "siak/code")
    assert av.result is (Result.FAILED if required else Result.SKIPPED)
    assert "apt-get install clamav" in av.summary
    # Not scanned is not infected: the backup still runs.
    assert rows(report)["siak", "code"].status is Status.SUCCEEDED
    assert report.needs_attention is required


@pytest.mark.parametrize("policy", ["block", "quarantine-and-continue", "warn"])
def test_policies_through_a_real_clamd(office: Office, clamd: Clamd, policy: str) -> None:
    plan = infected_office(office, clamd.database, policy)
    plan = plan.model_copy(
        update={"antivirus": plan.antivirus.model_copy(update={"clamd_socket": clamd.socket})}
    )
    report = run(plan)
    assert report.checks is not None
    av = next(r for r in report.checks.records if r.subject == "siak/code")
    assert av.details["engine"] == "clamd"
    assert [i["path"] for i in av.details["infected"]] == [str(office.code / "upload.com")]
    code = rows(report)["siak", "code"]
    if policy == "block":
        assert av.result is Result.FAILED and code.status is Status.FAILED
        return
    assert av.result is Result.WARNING and code.status is Status.SUCCEEDED
    names = snapshot_names(office.repo, code.snapshot_id)
    assert ("upload.com" in names) is (policy == "warn")
    assert code.quarantined == ([] if policy == "warn" else [str(office.code / "upload.com")])
