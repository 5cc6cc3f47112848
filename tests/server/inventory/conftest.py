"""The inventory tests' fixtures: their own state directory, run reports as the CLI writes
them, a plan in the catalog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cadang.plan.report import RunReport, SourceResult
from cadang.plan.state import StateStore
from cadang.server.inventory.importer import ImportResult, import_plan_file


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CADANG_STATE_DIR for this test only: where the history import looks for reports."""
    folder = tmp_path / "state"
    monkeypatch.setenv("CADANG_STATE_DIR", str(folder))
    return folder


@pytest.fixture
def save_report(state_dir: Path) -> Callable[..., RunReport]:
    """save_report(started, [SourceResult...], dry_run=False) -> the report, in the state dir."""

    def save(started: str, results: list[SourceResult], dry_run: bool = False) -> RunReport:
        report = RunReport(
            organization="Dinas Uji",
            hostname="server-uji",
            started=started,
            dry_run=dry_run,
            duration=65.0,
            results=results,
        )
        StateStore(state_dir).save_run_report(report)
        return report

    return save


@pytest.fixture
def imported(db: None, defaults: None, sample_plan_file: Path) -> ImportResult:
    """The sample plan (simpeg of BKPSDM, arsip of Sekretariat) in the catalog."""
    return import_plan_file(str(sample_plan_file))
