"""The run history the command line made, brought into the catalog as runs with their forms.

``cadang run`` keeps one report per run in the state directory
(:meth:`cadang.plan.report.RunReport.to_json`); a report covers many applications, the
server keeps one :class:`~cadang.server.runs.models.Run` per application. Each becomes a
run (trigger ``imported``) with a row per source, and its Backup Execution Form is filled
as for a run the server made.

Importing twice adds nothing: a run is known by its application and the report's
``started`` (kept in ``Run.report``), whoever made it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from cadang.server.approvals.filling import fill_form
from cadang.server.inventory.models import Application
from cadang.server.runs.models import Run, RunStatus, SourceRun, Trigger

# Keys of a report copied into each application's share of it.
_REPORT_KEYS = (
    "organization",
    "hostname",
    "started",
    "duration",
    "dry_run",
    "notes",
    "checks",
    "needs_attention",
    "escalation",
)


@dataclass
class HistoryResult:
    runs: int = 0  # runs created
    known: int = 0  # application entries already in the catalog
    unknown: int = 0  # entries of applications the catalog does not hold
    skipped_reports: int = 0  # dry runs and reports that cannot be read


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 time of a report; a time without offset is the office's local time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when


def run_status(sources: Iterable[dict[str, Any]]) -> str:
    """Failed if a source failed, partial if one was partial, else succeeded."""
    states = {s.get("status") for s in sources}
    if RunStatus.FAILED.value in states:
        return RunStatus.FAILED.value
    if RunStatus.PARTIAL.value in states:
        return RunStatus.PARTIAL.value
    return RunStatus.SUCCEEDED.value


def known_runs() -> set[tuple[int, str]]:
    """(application id, report's ``started``) of every run that kept its report."""
    rows = Run.objects.exclude(report=None).values_list("application_id", "report__started")
    return {(app_id, str(started)) for app_id, started in rows if started}


def application_share(report: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """The part of ``report`` about one application (its entry, totals, retention, copies)."""
    sources = [s for s in entry.get("sources") or [] if isinstance(s, dict)]
    snapshots = {s.get("snapshot_id") for s in sources if s.get("snapshot_id")}
    share = {k: report.get(k) for k in _REPORT_KEYS}
    share["applications"] = [entry]
    share["totals"] = {
        "sources": len(sources),
        "succeeded": sum(1 for s in sources if s.get("status") == RunStatus.SUCCEEDED),
        "partial": sum(1 for s in sources if s.get("status") == RunStatus.PARTIAL),
        "failed": sum(1 for s in sources if s.get("status") == RunStatus.FAILED),
        "size": sum(int(s.get("size") or 0) for s in sources),
        "data_added": sum(int(s.get("data_added") or 0) for s in sources),
    }
    share["retention"] = [
        {**r, "groups": [g for g in r.get("groups") or [] if g.get("app") == entry.get("name")]}
        for r in report.get("retention") or []
        if isinstance(r, dict)
    ]
    share["copies"] = [
        {**c, "snapshots": [s for s in c.get("snapshots") or [] if s.get("source") in snapshots]}
        for c in report.get("copies") or []
        if isinstance(c, dict)
    ]
    return share


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _source_row(run: Run, s: dict[str, Any]) -> SourceRun:
    return SourceRun(
        run=run,
        source=str(s.get("source", ""))[:64],
        kind=str(s.get("kind", ""))[:32],
        repository=str(s.get("repository", ""))[:64],
        status=str(s.get("status", ""))[:16],
        label=str(s.get("label", ""))[:255],
        snapshot_id=str(s.get("snapshot_id", ""))[:64],
        started_at=parse_time(s.get("started")),
        duration=_float(s.get("duration")),
        files=_int(s.get("files")),
        size=_int(s.get("size")),
        data_added=_int(s.get("data_added")),
        error=str(s.get("error", "")),
        hint=str(s.get("hint", "")),
        verified=str(s.get("verified", ""))[:16],
        verification=str(s.get("verification", "")),
    )


def import_report(
    report: dict[str, Any],
    apps: dict[str, Application],
    known: set[tuple[int, str]],
    result: HistoryResult,
) -> None:
    """The runs of one report that the catalog lacks, each with its form."""
    started_text = report.get("started")
    started = parse_time(started_text)
    if report.get("dry_run") or started is None:
        result.skipped_reports += 1
        return
    finished = started + dt.timedelta(seconds=_float(report.get("duration")))
    checks = report.get("checks")
    for entry in report.get("applications") or []:
        if not isinstance(entry, dict):
            continue
        app = apps.get(str(entry.get("name")))
        if app is None:
            result.unknown += 1
            continue
        key = (app.pk, str(started_text))
        if key in known:
            result.known += 1
            continue
        sources = [s for s in entry.get("sources") or [] if isinstance(s, dict)]
        errors = [f"{s.get('source')}: {s.get('error')}" for s in sources if s.get("error")]
        with transaction.atomic():
            run = Run.objects.create(
                application=app,
                trigger=Trigger.IMPORTED,
                status=run_status(sources),
                started_at=started,
                finished_at=finished,
                checklist=checks if isinstance(checks, dict) else None,
                report=application_share(report, entry),
                error="\n".join(errors),
                hostname=str(report.get("hostname", ""))[:255],
            )
            # queued_at is set on creation; the run was queued when it started, not now.
            Run.objects.filter(pk=run.pk).update(queued_at=started)
            run.queued_at = started
            SourceRun.objects.bulk_create([_source_row(run, s) for s in sources])
            fill_form(run)
        known.add(key)
        result.runs += 1


def import_history(reports: Iterable[dict[str, Any]]) -> HistoryResult:
    """Import ``reports`` (any order; they are taken oldest first so forms number in time)."""
    result = HistoryResult()
    apps = {a.name: a for a in Application.objects.all()}
    known = known_runs()
    readable = [r for r in reports if isinstance(r, dict)]
    readable.sort(
        key=lambda r: parse_time(r.get("started")) or dt.datetime.min.replace(tzinfo=dt.UTC)
    )
    for report in readable:
        import_report(report, apps, known, result)
    return result
