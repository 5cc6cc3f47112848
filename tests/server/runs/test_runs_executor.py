"""Executing a run against a real plan: source results, the form, the audit entry, and the
notifications of what failed; a run is never left running."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cadang.plan.loader import load_plan
from cadang.server.approvals.models import BackupExecutionForm
from cadang.server.audit.models import AuditEntry
from cadang.server.inventory.catalog import store_plan
from cadang.server.inventory.models import Application, OfficePlan
from cadang.server.notify.models import Event, Notification
from cadang.server.runs.executor import claim, close_interrupted_runs, execute
from cadang.server.runs.models import Run, RunStatus, Trigger
from cadang.server.runs.queueing import queue_run

from server.runs.runs_helpers import WIB, Catalog, Clock


def queued(app: Application, clock: Clock, **kw: object) -> Run:
    kw.setdefault("trigger", Trigger.MANUAL)
    return queue_run(app, now=clock(), **kw)  # type: ignore[arg-type]


def test_a_run_backs_up_each_source_and_fills_the_form(catalog: Catalog, clock: Clock) -> None:
    run = execute(queued(catalog.app("simpeg"), clock), clock=clock, hostname="server-1")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.started_at == clock() and run.finished_at == clock()
    assert run.hostname == "server-1" and run.progress == "" and run.error == ""
    [source] = run.sources.all()
    assert source.source == "files" and source.kind == "files" and source.status == "succeeded"
    # Labelled by the plan's naming rule, in the office's time.
    assert source.label == "uji-simpeg-files-20261120-1000"
    assert source.snapshot_id and source.size == len("alpha\n") and source.files == 1
    assert source.verified == "passed" and "restore test" in source.verification
    assert source.started_at == clock()
    # The pre-backup checklist and the report are kept with the run.
    assert run.checklist is not None and run.checklist["origin"] == "run"
    kinds = {r["kind"] for r in run.checklist["records"]}
    assert {"network", "antivirus"} <= kinds
    assert run.report is not None and run.report["totals"]["succeeded"] == 1
    # The machine filled the form, the audit log has the run, nobody was told anything.
    form = BackupExecutionForm.objects.get(run=run)
    assert form.filled["sources"][0]["label"] == source.label
    entry = AuditEntry.objects.get(action="run_finished")
    assert entry.target == f"run {run.pk}" and entry.actor == ""
    assert entry.details["status"] == "succeeded" and entry.details["sources"] == {"succeeded": 1}
    assert not Notification.objects.exists()


def test_a_source_that_cannot_be_read_fails_the_run_and_is_told(
    catalog: Catalog, clock: Clock, tmp_path: Path
) -> None:
    catalog.add_source("simpeg", "scans", tmp_path / "not-there")
    run = execute(queued(catalog.app("simpeg"), clock), clock=clock)
    assert run.status == RunStatus.FAILED
    rows = {s.source: s for s in run.sources.all()}
    assert rows["scans"].status == "failed" and "not-there" in rows["scans"].error
    assert rows["files"].status == "succeeded"  # the other source was still backed up
    [note] = Notification.objects.filter(event=Event.BACKUP_FAILED)
    assert note.dedupe_key == f"backup_failed:run:{run.pk}"
    assert "scans" in note.body and note.payload["run"] == run.pk
    assert not Notification.objects.filter(event=Event.CHECK_FAILED).exists()
    assert BackupExecutionForm.objects.get(run=run).filled["status"] == "failed"


def test_a_failed_check_is_escalated_to_the_plan_contacts(
    db: None, defaults: None, sample_plan_file: Path, clock: Clock, make_user: object
) -> None:
    # No repository was created: the network check fails and stops the backup.
    sample_plan_file.write_text(
        sample_plan_file.read_text()
        + "escalation:\n  - name: Bu Kasi\n    role: Kasi\n    email: kasi@example.go.id\n"
    )
    store_plan(load_plan(sample_plan_file))
    make_user("kabid", "approver", email="kabid@example.go.id")  # type: ignore[operator]
    run = execute(queued(Application.objects.get(name="simpeg"), clock), clock=clock)
    assert run.status == RunStatus.FAILED
    assert "network check" in run.sources.get().error
    told = Notification.objects.filter(event=Event.CHECK_FAILED)
    assert sorted(told.values_list("recipient", flat=True)) == [
        "kabid@example.go.id",
        "kasi@example.go.id",
    ]
    assert "is not there" in told[0].body
    assert Notification.objects.filter(event=Event.BACKUP_FAILED).exists()


def test_any_error_fails_the_run_with_its_reason(db: None, defaults: None, clock: Clock) -> None:
    # An application in the catalog but no plan at all: the plan layer cannot even start.
    app = Application.objects.create(
        name="siak", owner="Disdukcapil", priority="daily", classification="internal"
    )
    run = execute(queued(app, clock), clock=clock)
    assert run.status == RunStatus.FAILED
    assert "holds no plan" in run.error
    assert run.finished_at == clock()
    assert BackupExecutionForm.objects.filter(run=run).exists()
    assert Notification.objects.filter(event=Event.BACKUP_FAILED).count() == 1


def test_an_unexpected_exception_never_leaves_the_run_running(
    catalog: Catalog, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("cadang.plan.run.Runner.run", broken)
    run = execute(queued(catalog.app("simpeg"), clock), clock=clock)
    assert run.status == RunStatus.FAILED
    assert run.error == "RuntimeError: disk on fire"
    assert Run.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_a_removed_application_fails_with_the_plan_reason(catalog: Catalog, clock: Clock) -> None:
    app = catalog.app("arsip")
    app.active = False  # no longer in the plan the catalog builds
    app.save()
    run = execute(queued(app, clock), clock=clock)
    assert run.status == RunStatus.FAILED and "arsip" in run.error


def test_a_retry_backs_up_only_its_sources(catalog: Catalog, clock: Clock, tmp_path: Path) -> None:
    extra = tmp_path / "scans"
    extra.mkdir()
    (extra / "scan.pdf").write_text("%PDF")
    catalog.add_source("simpeg", "scans", extra)
    run = execute(queued(catalog.app("simpeg"), clock, only_sources=["scans"]), clock=clock)
    assert run.status == RunStatus.SUCCEEDED
    assert [s.source for s in run.sources.all()] == ["scans"]


def test_a_run_is_claimed_once_and_never_beside_another_of_its_application(
    catalog: Catalog, clock: Clock
) -> None:
    app = catalog.app("simpeg")
    first, second = queued(app, clock), queued(app, clock)
    assert claim(first, clock(), "h") is True
    assert claim(first, clock(), "h") is False  # already taken
    assert claim(second, clock(), "h") is False  # its application has a run going
    assert Run.objects.get(pk=second.pk).status == RunStatus.QUEUED
    # execute() of a run it cannot claim leaves it as it is.
    assert execute(second, clock=clock).status == RunStatus.QUEUED


def test_runs_left_running_by_a_crash_are_closed_as_interrupted(
    catalog: Catalog, clock: Clock
) -> None:
    app = catalog.app("simpeg")
    crashed = queued(app, clock)
    claim(crashed, clock() - dt.timedelta(minutes=5), "h")
    waiting = queued(catalog.app("arsip"), clock)
    closed = close_interrupted_runs(clock=clock)
    assert [r.pk for r in closed] == [crashed.pk]
    crashed.refresh_from_db()
    assert crashed.status == RunStatus.FAILED and "interrupted" in crashed.error
    assert crashed.finished_at == clock()
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.QUEUED
    assert AuditEntry.objects.filter(action="run_interrupted", target=f"run {crashed.pk}")
    assert BackupExecutionForm.objects.filter(run=crashed).exists()
    assert close_interrupted_runs(clock=clock) == []


def test_labels_use_the_office_time_zone(catalog: Catalog) -> None:
    # 23:30 UTC is 06:30 the next day in Jakarta.
    utc = Clock(dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC))
    run = execute(queued(catalog.app("simpeg"), utc), clock=utc)
    assert run.sources.get().label.endswith("-20261121-0630")
    assert OfficePlan.load() is not None
    assert WIB.key == "Asia/Jakarta"


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_is_retried_once_on_a_new_one() -> None:
    from django.db import OperationalError

    from cadang.server.runs.executor import _write

    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return "stored"

    assert _write(flaky) == "stored" and len(calls) == 2

    def dead() -> str:
        raise OperationalError("still down")

    with pytest.raises(OperationalError):
        _write(dead)


def test_inside_a_transaction_a_failed_write_is_not_retried(db: None) -> None:
    from django.db import OperationalError

    from cadang.server.runs.executor import _write

    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise OperationalError("boom")

    with pytest.raises(OperationalError):
        _write(failing)
    assert len(calls) == 1
