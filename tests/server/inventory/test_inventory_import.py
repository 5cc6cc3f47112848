"""import_plan_file: the applications, the audit entry, the run history, idempotence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cadang.errors import PlanError
from cadang.plan.report import Status
from cadang.server.approvals.models import BackupExecutionForm
from cadang.server.audit.models import AuditEntry
from cadang.server.inventory.catalog import current_plan
from cadang.server.inventory.importer import ImportResult, import_plan_file
from cadang.server.inventory.models import Application, OfficePlan
from cadang.server.runs.models import Run, RunStatus, SourceRun, Trigger

from server.inventory.inventory_helpers import source_result

pytestmark = pytest.mark.django_db


def test_first_import_adds_every_application(imported: ImportResult) -> None:
    assert imported.counts["added"] == 2
    assert imported.counts["updated"] == 0
    assert sorted(Application.objects.values_list("name", flat=True)) == ["arsip", "simpeg"]
    arsip = Application.objects.get(name="arsip")
    assert (arsip.owner, arsip.priority, arsip.classification) == (
        "Sekretariat",
        "weekly",
        "confidential",
    )
    office = OfficePlan.load()
    assert office is not None and office.source_file == imported.file
    assert current_plan().organization.code == "uji"


def test_import_is_audited_with_counts(imported: ImportResult) -> None:
    entry = AuditEntry.objects.get(action="plan_imported")
    assert entry.actor == ""
    assert entry.target == imported.file
    assert entry.details["added"] == 2
    assert entry.details["added_names"] == ["simpeg", "arsip"]


def test_import_by_a_person_names_them(
    db: None, defaults: None, sample_plan_file: Path, make_user: Callable[..., object]
) -> None:
    admin = make_user("admin1", "admin")
    import_plan_file(str(sample_plan_file), user=admin)
    assert AuditEntry.objects.get(action="plan_imported").actor == "admin1"
    office = OfficePlan.load()
    assert office is not None and office.imported_by == admin


def test_importing_the_same_plan_again_changes_nothing(
    imported: ImportResult, sample_plan_file: Path
) -> None:
    again = import_plan_file(str(sample_plan_file))
    assert again.counts == {
        "added": 0,
        "updated": 0,
        "unchanged": 2,
        "deactivated": 0,
        "removed": 0,
        "runs_imported": 0,
    }
    assert Application.objects.count() == 2


def test_changed_plan_updates_and_removes(imported: ImportResult, sample_plan_file: Path) -> None:
    text = sample_plan_file.read_text()
    text = text.replace("priority: daily", "priority: monthly")
    text = text[: text.index("  - name: arsip")]  # arsip leaves the plan
    sample_plan_file.write_text(text)
    result = import_plan_file(str(sample_plan_file))
    assert result.applications.updated == ["simpeg"]
    assert result.applications.removed == ["arsip"]  # no history: deleted
    assert Application.objects.get(name="simpeg").priority == "monthly"
    assert not Application.objects.filter(name="arsip").exists()
    assert "1 updated" in result.summary()
    assert "1 removed" in result.summary()


def test_removed_application_with_runs_is_kept_inactive(
    imported: ImportResult, sample_plan_file: Path, save_report: Callable[..., object]
) -> None:
    save_report(
        "2026-03-01T01:00:00+07:00", [source_result("arsip", "Sekretariat", Status.SUCCEEDED)]
    )
    import_plan_file(str(sample_plan_file))
    text = sample_plan_file.read_text()
    sample_plan_file.write_text(text[: text.index("  - name: arsip")])
    result = import_plan_file(str(sample_plan_file))
    assert result.applications.deactivated == ["arsip"]
    arsip = Application.objects.get(name="arsip")
    assert not arsip.active
    assert [a.name for a in current_plan().applications] == ["simpeg"]


def test_invalid_plan_raises_every_problem_and_changes_nothing(
    imported: ImportResult, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "organization:\n  name: X\n  code: x\nrepositories:\n  main:\n    path: /r\n"
        "    password_env: PW\napplications:\n  - name: a\n    owner: O\n"
        "    priority: sometimes\n    sources:\n      - type: files\n        name: f\n"
        "        paths: [/x]\n        colour: red\n"
    )
    with pytest.raises(PlanError) as caught:
        import_plan_file(str(bad))
    problems = caught.value.problems
    assert len(problems) == 2
    assert [(p.line, p.column) for p in problems] == [(11, 15), (16, 9)]
    assert all(p.file == str(bad) for p in problems)
    assert sorted(Application.objects.values_list("name", flat=True)) == ["arsip", "simpeg"]
    assert AuditEntry.objects.filter(action="plan_imported").count() == 1


def test_summary_line(imported: ImportResult) -> None:
    assert imported.summary() == (
        f"imported the plan {imported.file}: 2 application(s) added, 0 updated, "
        "0 unchanged, 0 removed; 0 run(s) imported from the history"
    )


# --- the run history ----------------------------------------------------------------------


def test_history_becomes_runs_with_sources_and_forms(
    db: None, defaults: None, sample_plan_file: Path, save_report: Callable[..., object]
) -> None:
    save_report(
        "2026-03-01T01:00:00+07:00",
        [
            source_result("simpeg", "BKPSDM", Status.SUCCEEDED, "db"),
            source_result("simpeg", "BKPSDM", Status.PARTIAL, "files"),
            source_result("arsip", "Sekretariat", Status.SUCCEEDED),
        ],
    )
    save_report("2026-03-02T01:00:00+07:00", [source_result("simpeg", "BKPSDM", Status.FAILED)])
    save_report(
        "2026-03-03T01:00:00+07:00",
        [source_result("simpeg", "BKPSDM", Status.PLANNED)],
        dry_run=True,
    )
    save_report("2026-03-04T01:00:00+07:00", [source_result("gone", "X", Status.SUCCEEDED)])

    result = import_plan_file(str(sample_plan_file))

    assert result.history.runs == 3
    assert result.history.skipped_reports == 1  # the dry run
    assert result.history.unknown == 1  # an application the plan does not hold
    runs = list(Run.objects.order_by("started_at", "application__name"))
    assert [(r.application.name, r.status) for r in runs] == [
        ("arsip", RunStatus.SUCCEEDED),
        ("simpeg", RunStatus.PARTIAL),
        ("simpeg", RunStatus.FAILED),
    ]
    first = runs[1]
    assert first.trigger == Trigger.IMPORTED
    assert first.hostname == "server-uji"
    assert first.started_at is not None and first.finished_at is not None
    assert first.started_at.isoformat() == "2026-02-28T18:00:00+00:00"
    assert (first.finished_at - first.started_at).total_seconds() == 65.0
    assert first.queued_at == first.started_at
    assert [s.source for s in first.sources.all()] == ["db", "files"]
    assert first.report is not None and [a["name"] for a in first.report["applications"]] == [
        "simpeg"
    ]
    assert first.report["totals"]["sources"] == 2
    assert runs[2].error == "files: disk full"
    assert SourceRun.objects.count() == 4
    forms = BackupExecutionForm.objects.order_by("seq")
    assert {f.run_id for f in forms} == {r.pk for r in runs}
    assert forms[2].run_id == runs[2].pk  # numbered in the order the runs happened
    assert forms[0].number == "0001/FPB/III/2026"
    assert forms[0].filled["sources"][0]["status"] == "succeeded"
    assert "3 run(s) imported" in result.summary()


def test_history_import_is_idempotent(
    db: None, defaults: None, sample_plan_file: Path, save_report: Callable[..., object]
) -> None:
    save_report("2026-03-01T01:00:00+07:00", [source_result("simpeg", "BKPSDM", Status.SUCCEEDED)])
    import_plan_file(str(sample_plan_file))
    again = import_plan_file(str(sample_plan_file))
    assert again.history.runs == 0
    assert again.history.known == 1
    assert Run.objects.count() == 1
    assert BackupExecutionForm.objects.count() == 1
    # A later report adds only its own run.
    save_report("2026-03-02T01:00:00+07:00", [source_result("simpeg", "BKPSDM", Status.SUCCEEDED)])
    third = import_plan_file(str(sample_plan_file))
    assert third.history.runs == 1
    assert Run.objects.count() == 2


def test_unreadable_report_is_skipped(
    db: None, defaults: None, sample_plan_file: Path, state_dir: Path
) -> None:
    (state_dir / "runs").mkdir(parents=True)
    (state_dir / "runs" / "20260301T000000Z-00000000.json").write_text("{not json")
    (state_dir / "runs" / "20260302T000000Z-00000000.json").write_text('{"started": "yesterday"}')
    result = import_plan_file(str(sample_plan_file))
    assert result.history.runs == 0
    assert result.history.skipped_reports == 1
    assert Run.objects.count() == 0
