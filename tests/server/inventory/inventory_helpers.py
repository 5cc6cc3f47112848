"""Helpers shared by the inventory tests (imported by name; conftest is not importable)."""

from __future__ import annotations

from cadang.plan.report import SourceResult, Status


def source_result(app: str, owner: str, status: Status, source: str = "files") -> SourceResult:
    return SourceResult(
        app=app,
        owner=owner,
        priority="daily",
        classification="internal",
        source=source,
        kind="files",
        repository="main",
        status=status,
        label=f"uji-{app}-{source}",
        snapshot_id=f"{app}{source}".ljust(64, "0")[:64],
        started="2026-03-01T01:00:05+07:00",
        duration=2.5,
        files=3,
        size=1000,
        data_added=400,
        error="disk full" if status is Status.FAILED else "",
        verified="passed" if status is not Status.FAILED else "",
    )
