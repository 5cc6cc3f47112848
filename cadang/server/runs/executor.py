"""Executing one run: the plan layer's :class:`~cadang.plan.run.Runner` for one application,
with every step written to the catalog as it happens so the run's page shows it live.

The order (SOP 000, 002, 003): the pre-backup checklist is stored as soon as the checks end;
each source's result becomes a :class:`SourceRun` row the moment it finishes; then the
verification results, the status, the report; then the machine fills the Backup Execution
Form, the audit log gets its entry and people are told of what failed.

Whatever goes wrong (no plan in the catalog, an application removed from it, a bug) the run
ends ``failed`` with the reason in ``error``: it is never left ``running``. Runs a crashed
process left running are closed the same way by :func:`close_interrupted_runs` at start-up.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cadang.checks.base import Checklist
from cadang.errors import CadangError
from cadang.plan.model import Plan
from cadang.plan.run import Runner, RunReport, SourceResult, Status
from cadang.server.approvals.filling import fill_form
from cadang.server.audit.log import record
from cadang.server.inventory.catalog import current_plan
from cadang.server.inventory.models import Application
from cadang.server.runs.models import Run, RunStatus, SourceRun
from cadang.server.runs.notices import notify_after_run
from cadang.server.runs.wording import word

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
T = TypeVar("T")


def _write(action: Callable[[], T]) -> T:
    """Write to the catalog, once more on a new connection if the first attempt fails: a
    backup may take hours, and the database may have dropped the idle connection."""
    try:
        return action()
    except DatabaseError:
        if connection.in_atomic_block:  # a transaction cannot move to another connection
            raise
        log.warning("catalog write failed; reconnecting once", exc_info=True)
        connection.close()
        return action()


def claim(run: Run, now: dt.datetime, hostname: str) -> bool:
    """Mark a queued run running, unless it was taken already or its application has a
    run going: one conditional UPDATE under a lock on the application's row, so two
    executors never take the same run nor run one application twice at once."""
    with transaction.atomic():
        Application.objects.select_for_update().filter(pk=run.application_id).first()
        if Run.objects.filter(application_id=run.application_id, status=RunStatus.RUNNING).exists():
            return False
        taken = Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now, hostname=hostname[:255]
        )
    if taken:
        run.refresh_from_db()
    return bool(taken)


def status_of(report: RunReport) -> RunStatus:
    """The run's status: failed if a source failed or a backup failed verification (as
    ``cadang run`` exits 1), partial if files could not be read, else succeeded."""
    if not report.results or report.count(Status.FAILED) or report.verification_failures:
        return RunStatus.FAILED
    if report.count(Status.PARTIAL):
        return RunStatus.PARTIAL
    return RunStatus.SUCCEEDED


def _started(result: SourceResult) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(result.started) if result.started else None
    except ValueError:
        return None


class _Progress:
    """The Runner's callbacks: the checklist and each source, stored as they come."""

    def __init__(self, run: Run, total: int) -> None:
        self.run = run
        self.total = total
        self.done = 0

    def say(self, line: str) -> None:
        self.run.progress = line
        _write(lambda: Run.objects.filter(pk=self.run.pk).update(progress=line))

    def on_checks(self, checklist: Checklist) -> None:
        self.run.checklist = checklist.to_json()
        _write(lambda: Run.objects.filter(pk=self.run.pk).update(checklist=self.run.checklist))
        self.say(
            _("Pre-backup checks: %(status)s. Backing up %(total)s source(s)…")
            % {"status": word(checklist.status.value), "total": self.total}
        )

    def on_result(self, result: SourceResult) -> None:
        _write(lambda: self._store(result))
        self.done += 1
        values = {
            "source": result.source,
            "status": word(result.status.value),
            "done": self.done,
            "total": self.total,
        }
        if self.done < self.total:
            self.say(_("%(source)s: %(status)s (%(done)s of %(total)s)") % values)
        else:
            self.say(
                _("%(source)s: %(status)s (%(done)s of %(total)s). Verifying the backups…") % values
            )

    def _store(self, result: SourceResult) -> SourceRun:
        return SourceRun.objects.create(
            run=self.run,
            source=result.source[:64],
            kind=result.kind[:32],
            repository=result.repository[:64],
            status=result.status.value,
            label=result.label[:255],
            snapshot_id=result.snapshot_id[:64],
            started_at=_started(result),
            duration=result.duration,
            files=result.files,
            size=result.size,
            data_added=result.data_added,
            error=result.error,
            hint=result.hint,
        )


def _store_report(run: Run, report: RunReport) -> None:
    """Verification results (made after the sources were stored), status and report."""
    rows = {s.source: s for s in run.sources.all()}
    for result in report.results:
        row = rows.get(result.source)
        if row is None:  # a result the callback did not see: keep it all the same
            _Progress(run, len(report.results)).on_result(result)
            row = run.sources.get(source=result.source)
        if row.verified != result.verified or row.verification != result.verification:
            row.verified, row.verification = result.verified, result.verification
            row.save(update_fields=["verified", "verification"])
    run.report = report.to_json()
    if run.checklist is None and report.checks is not None:
        run.checklist = report.checks.to_json()
    run.status = status_of(report)
    if not report.results:
        run.error = _("nothing was backed up: the application has none of the sources asked for")


def _source_count(plan: Plan, run: Run) -> int:
    """How many sources the run backs up, for "2 of 3" on its page."""
    app = plan.application(run.application.name)
    if app is None:
        return 0
    return sum(1 for s in app.sources if not run.only_sources or s.name in run.only_sources)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, CadangError):
        return f"{exc.message} ({exc.hint})" if exc.hint else exc.message
    return f"{type(exc).__name__}: {exc}"


def _finish(run: Run, plan: Plan | None) -> None:
    """After the status is stored: the form, the audit entry, the notifications. Each is
    attempted even if another fails, and none changes the run's status."""
    try:
        fill_form(run)
    except Exception:
        log.exception("could not fill the form of run %s", run.pk)
    try:
        counts: dict[str, int] = {}
        for status in run.sources.values_list("status", flat=True):
            counts[status] = counts.get(status, 0) + 1
        record(
            "run_finished",
            actor="",
            target=f"run {run.pk}",
            details={
                "application": run.application.name,
                "status": run.status,
                "trigger": run.trigger,
                "attempt": run.attempt,
                "sources": counts,
                "error": run.error,
            },
        )
    except Exception:
        log.exception("could not record run %s in the audit log", run.pk)
    try:
        notify_after_run(run, plan)
    except Exception:
        log.exception("could not send the notifications of run %s", run.pk)


def perform(run: Run, *, clock: Clock = timezone.now) -> Run:
    """Execute a run already claimed (status running) to its end; returns it finished."""
    plan: Plan | None = None
    try:
        plan = current_plan()
        progress = _Progress(run, _source_count(plan, run))
        runner = Runner(
            plan,
            apps=[run.application.name],
            sources=run.only_sources or None,
            clock=lambda: timezone.localtime(clock()),  # labels in the office's time
            hostname=run.hostname or None,
            on_result=progress.on_result,
            on_checks=progress.on_checks,
        )
        progress.say(_("Running the pre-backup checks…"))
        report = runner.run()
        _store_report(run, report)
        run.progress = ""
    except Exception as exc:
        if not isinstance(exc, CadangError):
            log.exception("run %s failed unexpectedly", run.pk)
        run.status = RunStatus.FAILED
        run.error = _reason(exc)
        run.progress = ""
    run.finished_at = clock()
    fields = ["status", "error", "progress", "report", "checklist", "finished_at"]
    _write(lambda: run.save(update_fields=fields))
    _finish(run, plan)
    return run


def execute(run: Run, *, clock: Clock = timezone.now, hostname: str | None = None) -> Run:
    """Claim a queued run and execute it now, in this thread; returns it finished.

    If it cannot be claimed (already taken, or its application has a run going) it is
    returned as it is, still queued or running.
    """
    if not claim(run, clock(), hostname or socket.gethostname()):
        run.refresh_from_db()
        return run
    return perform(run, clock=clock)


def close_interrupted_runs(*, clock: Clock = timezone.now) -> list[Run]:
    """Runs left running by a process that stopped (a crash, a power cut) end as failed.

    Called once when the scheduler starts, before it takes any run.
    """
    closed = []
    for run in Run.objects.filter(status=RunStatus.RUNNING).select_related("application"):
        updated = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED,
            error=_("interrupted: the server stopped while the run was in progress"),
            progress="",
            finished_at=clock(),
        )
        if not updated:
            continue
        run.refresh_from_db()
        record(
            "run_interrupted",
            actor="",
            target=f"run {run.pk}",
            details={"application": run.application.name, "hostname": run.hostname},
        )
        _finish(run, None)
        closed.append(run)
    return closed
