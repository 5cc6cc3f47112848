"""Running the plan: every selected application's sources backed up, then retention, then copies.

A run takes the applications selected by priority and name, groups them by repository and
opens each repository once (its Argon2id derivation is slow on purpose). Under a shared lock
each source becomes one snapshot, labelled by the plan's naming rule and tagged
``app:``, ``source:``, ``owner:``, ``priority:`` and ``classification:``. A failed source is
recorded with its reason and the run goes on with the next one.

Each snapshot written is then verified while the lock is still held (plan option
``verify``; :mod:`cadang.checks.verify`): it is read back completely and, where the source
allows, restored into a throw-away database or folder and compared; the results are stored
beside the snapshot. A failed verification makes the run fail (exit 1).

After the backups, retention: for each priority that had a successful backup, the priority's
policy is applied to each (application, source) group of snapshots of that priority in the
repository, under an exclusive lock, and prune runs when something was forgotten. A lock
held by someone else postpones retention to the next run; it is never fatal. Then copies:
this run's snapshots go to every repository under ``copies`` that is present (an external
disk that is not connected is reported, not an error).

The outcome is a :class:`RunReport`: the per-application table of SOP 003 (status, size,
duration, label, date) plus what retention and copies did.

This module is the orchestration; the parts live beside it: :mod:`cadang.plan.selection`
(which applications, their tags), :mod:`cadang.plan.report` (the report and its JSON),
:mod:`cadang.plan.retention` and :mod:`cadang.plan.copies`. Their public names are
re-exported here.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import socket
import time
from collections.abc import Callable, Sequence

from cadang.checks.base import Checklist
from cadang.checks.verify import verify_snapshot
from cadang.errors import CadangError
from cadang.i18n import _
from cadang.plan.copies import copy_snapshots, planned_copies
from cadang.plan.model import Application, Plan, Priority, SourceConfig
from cadang.plan.naming import render_label
from cadang.plan.prechecks import PreChecks, escalation_contacts, run_prechecks, skipped_checklist
from cadang.plan.report import (
    CopyOutcome,
    GroupRetention,
    RetentionResult,
    RunReport,
    SourceResult,
    Status,
    human_size,
)
from cadang.plan.repos import is_present, location, open_repository
from cadang.plan.retention import describe_policy, planned_retention, retain, to_policy
from cadang.plan.selection import (
    Clock,
    local_now,
    plan_tags,
    select_applications,
    select_sources,
    tag_value,
)
from cadang.plan.state import StateStore, open_state
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.locks import locked
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.sources.registry import make_source

__all__ = [
    "Clock",
    "CopyOutcome",
    "GroupRetention",
    "RetentionResult",
    "RunReport",
    "Runner",
    "SourceResult",
    "Status",
    "describe_policy",
    "human_size",
    "local_now",
    "plan_tags",
    "select_applications",
    "select_sources",
    "tag_value",
    "to_policy",
]


class Runner:
    """Runs (or with ``dry_run`` describes) the backups of the selected applications.

    ``sources`` narrows the run to those sources of the selected applications (a retry of
    the sources that failed); the pre-backup checks then cover only them too.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        priority: str | Priority | None = None,
        apps: Sequence[str] | None = None,
        dry_run: bool = False,
        clock: Clock = local_now,
        lock_wait: float = 30.0,
        on_result: Callable[[SourceResult], None] | None = None,
        hostname: str | None = None,
        skip_checks: bool = False,
        state: StateStore | None = None,
        on_checks: Callable[[Checklist], None] | None = None,
        sources: Sequence[str] | None = None,
    ) -> None:
        self.plan = plan
        self.applications = select_applications(plan, priority, apps)
        if sources is not None:
            self.applications = select_sources(self.applications, sources)
        self.dry_run = dry_run
        self.clock = clock
        self.lock_wait = lock_wait
        self.on_result = on_result
        self.hostname = hostname or socket.gethostname()
        self.skip_checks = skip_checks
        self.state = state if state is not None else open_state(plan)
        self.on_checks = on_checks
        self._pre: PreChecks | None = None
        self._repos: dict[str, Repository] = {}
        self._snapshots: dict[str, list[Snapshot]] = {}  # repository -> this run's snapshots

    # --- grouping -------------------------------------------------------------------------
    def by_repository(self) -> dict[str, list[Application]]:
        groups: dict[str, list[Application]] = {}
        for app in self.applications:
            name, _ref = self.plan.repository_for(app)
            groups.setdefault(name, []).append(app)
        return groups

    def _result(self, app: Application, config: SourceConfig, repository: str) -> SourceResult:
        return SourceResult(
            app=app.name,
            owner=app.owner,
            priority=app.priority.value,
            classification=app.classification.value,
            source=config.name,
            kind=config.type,
            repository=repository,
        )

    def _label(self, app: Application, source: str, when: dt.datetime) -> str:
        return render_label(
            self.plan.naming.template,
            org=self.plan.organization.code,
            app=app.name,
            source=source,
            owner=app.owner,
            priority=app.priority.value,
            time=when,
        )

    # --- the run --------------------------------------------------------------------------
    def run(self) -> RunReport:
        start = time.monotonic()
        report = RunReport(
            organization=self.plan.organization.name,
            hostname=self.hostname,
            started=self.clock().isoformat(timespec="seconds"),
            dry_run=self.dry_run,
        )
        if self.dry_run:
            self._preview(report)
            report.duration = round(time.monotonic() - start, 3)
            return report
        report.checks = self._prechecks(report)
        try:
            for repo_name, apps in self.by_repository().items():
                report.results.extend(self._backup_repository(repo_name, apps))
            report.retention = self._retention(report.results)
            report.copies = self._copies()
        finally:
            for repo in self._repos.values():
                repo.close()
            self._repos.clear()
        order = {a.name: i for i, a in enumerate(self.plan.applications)}
        report.results.sort(key=lambda r: order.get(r.app, len(order)))  # stable: source order
        report.duration = round(time.monotonic() - start, 3)
        self._record(report)
        return report

    # --- pre-backup checks and records ----------------------------------------------------
    def _prechecks(self, report: RunReport) -> Checklist:
        """SOP 000 before the backups: the checklist, recorded; it decides what may run."""
        if self.skip_checks:
            checklist = skipped_checklist(
                self.plan,
                self.applications,
                _("skipped on request (run --skip-checks) by {user}").format(
                    user=getpass.getuser()
                ),
                hostname=self.hostname,
            )
        else:
            self._pre = run_prechecks(
                self.plan,
                self.applications,
                state=self.state,
                hostname=self.hostname,
                clock=self.clock,
                origin="run",
            )
            checklist = self._pre.checklist
        try:
            self.state.save_checklist(checklist)
        except CadangError as exc:
            report.notes.append(exc.message)
        if self.on_checks is not None:
            self.on_checks(checklist)
        return checklist

    def _record(self, report: RunReport) -> None:
        """Whether the run needs attention, and its report kept in the state directory."""
        failed = report.count(Status.FAILED) > 0 or bool(report.verification_failures)
        checks_attention = report.checks is not None and report.checks.needs_attention
        report.needs_attention = failed or checks_attention
        if report.needs_attention:
            report.escalation = escalation_contacts(self.plan)
        try:
            self.state.save_run_report(report)
        except CadangError as exc:
            report.notes.append(exc.message)

    def _blocked(
        self, app: Application, config: SourceConfig, repo_name: str
    ) -> SourceResult | None:
        """The failed result of a source a pre-backup check stopped, if it did."""
        blocked = self._pre.blocked_reason(app.name, config.name) if self._pre else None
        if blocked is None:
            return None
        result = self._result(app, config, repo_name)
        result.started = self.clock().isoformat(timespec="seconds")
        result.status, result.error = Status.FAILED, blocked[0]
        result.hint = blocked[1] or _("see the pre-backup checklist; fix the cause, run again")
        return result

    def _done(self, result: SourceResult) -> SourceResult:
        if self.on_result is not None:
            self.on_result(result)
        return result

    def _backup_repository(self, repo_name: str, apps: list[Application]) -> list[SourceResult]:
        pending = [(app, cfg) for app in apps for cfg in app.sources]
        results: list[SourceResult] = []

        def fail_rest(exc: CadangError) -> None:
            for app, cfg in pending[len(results) :]:
                r = self._result(app, cfg, repo_name)
                r.status, r.error, r.hint = Status.FAILED, exc.message, exc.hint or ""
                r.started = self.clock().isoformat(timespec="seconds")
                results.append(self._done(r))

        stopped = [self._blocked(app, cfg, repo_name) for app, cfg in pending]
        if all(stopped):  # nothing may be backed up: leave the repository alone
            return [self._done(r) for r in stopped if r is not None]
        try:
            repo = open_repository(repo_name, self.plan.repositories[repo_name])
        except CadangError as exc:
            fail_rest(exc)
            return results
        self._repos[repo_name] = repo
        try:
            with locked(repo, exclusive=False, wait=self.lock_wait):
                repo.load_index()
                for app, cfg in pending:
                    results.append(self._done(self._backup_source(repo, repo_name, app, cfg)))
                self._verify(repo, repo_name, results)
        except CadangError as exc:  # the lock could not be had, or the index not read
            fail_rest(exc)
        return results

    def _backup_source(
        self, repo: Repository, repo_name: str, app: Application, config: SourceConfig
    ) -> SourceResult:
        blocked = self._blocked(app, config, repo_name)
        if blocked is not None:
            return blocked
        result = self._result(app, config, repo_name)
        when = self.clock()
        result.started = when.isoformat(timespec="seconds")
        start = time.monotonic()
        try:
            result.label = self._label(app, config.name, when)
            spec = make_source(config).backup_spec()
            if self._pre is not None:
                spec = self._pre.spec_for(app.name, config.name, spec)
                result.quarantined = self._pre.quarantined_shown(app.name, config.name)
            options = BackupOptions(
                paths=list(spec.paths),
                excludes=list(spec.excludes),
                one_file_system=spec.one_file_system,
                streams=list(spec.streams),
                tags=plan_tags(app, config.name),
                label=result.label,
                hostname=self.hostname,
            )
            snap, summary = Archiver(repo).backup(options)
        except CadangError as exc:
            result.status, result.error, result.hint = Status.FAILED, exc.message, exc.hint or ""
        except OSError as exc:
            result.status = Status.FAILED
            result.error = _("{what}: {reason}").format(
                what=exc.filename or config.name, reason=exc.strerror or str(exc)
            )
        else:
            result.status = Status.PARTIAL if summary.errors else Status.SUCCEEDED
            result.snapshot_id = snap.id
            result.files = summary.total_files
            result.size = summary.total_bytes
            result.data_added = summary.data_added
            result.unreadable = list(summary.errors)
            result.facts = dict(summary.facts)
            if summary.errors:
                result.error = _(
                    "{n} file(s) could not be read; the snapshot holds the rest"
                ).format(n=len(summary.errors))
            self._snapshots.setdefault(repo_name, []).append(snap)
        result.duration = round(time.monotonic() - start, 3)
        return result

    # --- verification ---------------------------------------------------------------------
    def _verify(self, repo: Repository, repo_name: str, results: list[SourceResult]) -> None:
        """Read back (and restore-test) each snapshot just written; never raises."""
        written = {s.id: s for s in self._snapshots.get(repo_name, [])}
        for r in results:
            snap = written.get(r.snapshot_id)
            app = self.plan.application(r.app)
            if snap is None or app is None:
                continue
            settings = self.plan.verify_settings(app)
            if not settings.after_run:
                r.verified = "skipped"
                r.verification = _("verification after the run is turned off in the plan")
                continue
            config = next((c for c in app.sources if c.name == r.source), None)
            try:
                v = verify_snapshot(repo, snap, config, settings, app=app.name, clock=self.clock)
            except CadangError as exc:  # e.g. the records cannot be stored
                r.verified, r.verification = "failed", exc.message
                r.verify_errors = [exc.message]
                continue
            r.verified, r.verification = v.status, v.summary()
            r.verify_errors = [e for rec in v.records if not rec.passed for e in rec.errors]

    # --- retention ------------------------------------------------------------------------
    def _retention(self, results: list[SourceResult]) -> list[RetentionResult]:
        done: dict[str, set[str]] = {}  # repository -> priorities with a successful backup
        for r in results:
            if r.status in (Status.SUCCEEDED, Status.PARTIAL):
                done.setdefault(r.repository, set()).add(r.priority)
        out = []
        for repo_name, priorities in done.items():
            out.append(
                retain(
                    self.plan,
                    repo_name,
                    self._repos[repo_name],
                    sorted(priorities),
                    lock_wait=self.lock_wait,
                    forget=functools.partial(self._forget, repo_name),
                )
            )
        return out

    def _forget(self, repo_name: str, gone: set[str]) -> None:
        """Retention removed ``gone``: they are no longer this run's snapshots to copy."""
        self._snapshots[repo_name] = [
            s for s in self._snapshots.get(repo_name, []) if s.id not in gone
        ]

    # --- copies ---------------------------------------------------------------------------
    def _copies(self) -> list[CopyOutcome]:
        return copy_snapshots(self.plan, self._snapshots, self._repos, lock_wait=self.lock_wait)

    # --- dry run --------------------------------------------------------------------------
    def _preview(self, report: RunReport) -> None:
        when = self.clock()
        for repo_name, apps in self.by_repository().items():
            ref = self.plan.repositories[repo_name]
            if not is_present(ref):
                report.notes.append(
                    _(
                        "repository {repository} ({path}) does not exist yet: "
                        "create it with 'cadang init --repo {path}'"
                    ).format(repository=repo_name, path=location(ref))
                )
            for app in apps:
                for cfg in app.sources:
                    r = self._result(app, cfg, repo_name)
                    r.started = when.isoformat(timespec="seconds")
                    try:
                        r.label = self._label(app, cfg.name, when)
                        r.steps = make_source(cfg).describe()
                    except CadangError as exc:
                        r.status, r.error, r.hint = Status.FAILED, exc.message, exc.hint or ""
                    report.results.append(r)
            report.retention.extend(planned_retention(self.plan, repo_name, apps))
        report.copies.extend(planned_copies(self.plan))
