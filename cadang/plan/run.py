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
"""

from __future__ import annotations

import datetime as dt
import enum
import getpass
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cadang.checks.base import Checklist
from cadang.checks.verify import verify_snapshot
from cadang.errors import CadangError, LockError, UsageError
from cadang.i18n import _
from cadang.plan.model import Application, Plan, Priority, RetentionPolicy, SourceConfig
from cadang.plan.naming import render_label
from cadang.plan.prechecks import PreChecks, escalation_contacts, run_prechecks, skipped_checklist
from cadang.plan.repos import is_present, location, open_repository
from cadang.plan.state import StateStore, open_state
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.copier import Copier
from cadang.repo.locks import locked
from cadang.repo.policy import Policy, apply_policy
from cadang.repo.pruner import load_snapshots_strict, prune, remove_snapshots
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.sources.registry import make_source

Clock = Callable[[], dt.datetime]


def local_now() -> dt.datetime:
    return dt.datetime.now().astimezone()


class Status(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"  # the snapshot was written, but some files could not be read
    PLANNED = "planned"  # --dry-run


def plan_tags(app: Application, source: str) -> list[str]:
    """The tags every snapshot of a plan source carries."""
    return [
        f"app:{app.name}",
        f"source:{source}",
        f"owner:{app.owner}",
        f"priority:{app.priority.value}",
        f"classification:{app.classification.value}",
    ]


def tag_value(tags: Iterable[str], key: str) -> str | None:
    """The value of the ``key:value`` tag, if the snapshot has one."""
    prefix = key + ":"
    return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)


def select_applications(
    plan: Plan, priority: str | Priority | None = None, apps: Sequence[str] | None = None
) -> list[Application]:
    """The applications a run covers, in plan order; unknown names are usage errors."""
    known = [a.name for a in plan.applications]
    wanted = list(dict.fromkeys(apps or []))
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise UsageError(
            _("unknown application(s): {names}").format(names=", ".join(unknown)),
            hint=_("the plan has: {known}").format(known=", ".join(known)),
        )
    prio: Priority | None = None
    if priority is not None:
        try:
            prio = Priority(priority)
        except ValueError:
            raise UsageError(
                _("unknown priority {priority!r}").format(priority=str(priority)),
                hint=_("use one of: {choices}").format(
                    choices=", ".join(p.value for p in Priority)
                ),
            ) from None
    chosen = [
        a
        for a in plan.applications
        if (not wanted or a.name in wanted) and (prio is None or a.priority == prio)
    ]
    if wanted and not chosen:
        raise UsageError(
            _("none of the applications named has priority {priority}").format(
                priority=prio.value if prio else ""
            )
        )
    return chosen


def to_policy(r: RetentionPolicy) -> Policy:
    return Policy(
        last=r.keep_last,
        hourly=r.keep_hourly,
        daily=r.keep_daily,
        weekly=r.keep_weekly,
        monthly=r.keep_monthly,
        yearly=r.keep_yearly,
    )


def human_size(n: float) -> str:
    """Bytes for a message: 812 B, 3.4 MiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop returns


def describe_policy(r: RetentionPolicy) -> str:
    return ", ".join(f"{k}={v}" for k, v in r.model_dump().items() if v) or "-"


# --- the report ---------------------------------------------------------------------------


@dataclass
class SourceResult:
    """One source of one application in a run: the row of SOP 003's report."""

    app: str
    owner: str
    priority: str
    classification: str
    source: str
    kind: str
    repository: str
    status: Status = Status.PLANNED
    label: str = ""
    snapshot_id: str = ""
    started: str = ""  # when this source's backup began (ISO 8601, local time)
    duration: float = 0.0
    files: int = 0
    size: int = 0  # bytes read from the source
    data_added: int = 0  # bytes added to the repository (after dedup and compression)
    error: str = ""
    hint: str = ""
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    steps: list[str] = field(default_factory=list)  # --dry-run: what would run
    facts: dict[str, Any] = field(default_factory=dict)
    quarantined: list[str] = field(default_factory=list)  # infected files left out (antivirus)
    verified: str = ""  # passed | failed | skipped ("" when no snapshot was written)
    verification: str = ""  # what was verified, or what failed, in one line
    verify_errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        d["unreadable"] = [{"path": p, "message": m} for p, m in self.unreadable]
        return d


@dataclass
class GroupRetention:
    app: str
    source: str
    priority: str
    kept: list[str] = field(default_factory=list)  # snapshot ids
    forgotten: list[dict[str, str]] = field(default_factory=list)  # id, label, time


@dataclass
class RetentionResult:
    """Retention on one repository: ``applied``, ``nothing``, ``postponed``, ``failed``,
    ``planned`` (dry run) or ``skipped`` (no policy for a priority)."""

    repository: str
    status: str
    message: str
    groups: list[GroupRetention] = field(default_factory=list)
    prune: dict[str, object] | None = None

    @property
    def forgotten(self) -> int:
        return sum(len(g.forgotten) for g in self.groups)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"forgotten_count": self.forgotten}


@dataclass
class CopyOutcome:
    """Copies to one repository: ``copied``, ``not present``, ``failed``, ``nothing`` or
    ``planned``."""

    repository: str
    path: str
    status: str
    message: str
    copied: int = 0
    skipped: int = 0
    bytes_added: int = 0
    snapshots: list[dict[str, object]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunReport:
    organization: str
    hostname: str
    started: str
    dry_run: bool = False
    duration: float = 0.0
    results: list[SourceResult] = field(default_factory=list)
    retention: list[RetentionResult] = field(default_factory=list)
    copies: list[CopyOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a repository that is missing
    checks: Checklist | None = None  # the pre-backup checklist (None: a dry run)
    needs_attention: bool = False  # a check failed or was skipped, or a source failed
    escalation: list[dict[str, str]] = field(default_factory=list)  # whom to tell, if so

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def verification_failures(self) -> list[SourceResult]:
        return [r for r in self.results if r.verified == "failed"]

    @property
    def exit_code(self) -> int:
        """0 all succeeded, 1 a source failed (or its snapshot failed verification), 3
        snapshots written but files unreadable."""
        if self.count(Status.FAILED) or self.verification_failures:
            return 1
        if self.count(Status.PARTIAL):
            return 3
        return 0

    def messages(self) -> list[str]:
        """What happened after the backups, one line each (notes, retention, copies)."""
        return [
            *self.notes,
            *(r.message for r in self.retention),
            *(c.message for c in self.copies),
        ]

    def to_json(self) -> dict[str, Any]:
        apps: dict[str, dict[str, Any]] = {}
        for r in self.results:
            entry = apps.setdefault(
                r.app,
                {
                    "name": r.app,
                    "owner": r.owner,
                    "priority": r.priority,
                    "classification": r.classification,
                    "repository": r.repository,
                    "sources": [],
                },
            )
            entry["sources"].append(r.to_json())
        for entry in apps.values():
            states = {s["status"] for s in entry["sources"]}
            entry["status"] = (
                Status.FAILED.value
                if Status.FAILED.value in states
                else Status.PARTIAL.value
                if Status.PARTIAL.value in states
                else next(iter(states))
                if len(states) == 1
                else Status.SUCCEEDED.value
            )
        return {
            "organization": self.organization,
            "hostname": self.hostname,
            "started": self.started,
            "duration": self.duration,
            "dry_run": self.dry_run,
            "applications": list(apps.values()),
            "totals": {
                "sources": len(self.results),
                "succeeded": self.count(Status.SUCCEEDED),
                "partial": self.count(Status.PARTIAL),
                "failed": self.count(Status.FAILED),
                "size": sum(r.size for r in self.results),
                "data_added": sum(r.data_added for r in self.results),
            },
            "retention": [r.to_json() for r in self.retention],
            "copies": [c.to_json() for c in self.copies],
            "notes": self.notes,
            "checks": self.checks.to_json() if self.checks is not None else None,
            "needs_attention": self.needs_attention,
            "escalation": self.escalation,
            "exit_code": self.exit_code,
        }


# --- the runner -----------------------------------------------------------------------------


class Runner:
    """Runs (or with ``dry_run`` describes) the backups of the selected applications."""

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
    ) -> None:
        self.plan = plan
        self.applications = select_applications(plan, priority, apps)
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
            out.append(self._retain(repo_name, self._repos[repo_name], sorted(priorities)))
        return out

    def _retain(self, repo_name: str, repo: Repository, priorities: list[str]) -> RetentionResult:
        policies: dict[str, RetentionPolicy] = {}
        skipped: list[str] = []
        for p in priorities:
            policy = self.plan.retention.get(Priority(p))
            if policy is None or policy.empty():
                skipped.append(p)
            else:
                policies[p] = policy
        if not policies:
            return RetentionResult(
                repo_name,
                "skipped",
                _(
                    "retention on {repository}: no retention policy for {priorities}; nothing forgotten"
                ).format(repository=repo_name, priorities=", ".join(skipped)),
            )
        try:
            with locked(repo, exclusive=True, wait=self.lock_wait):
                snaps = load_snapshots_strict(repo)
                groups, to_remove = self._decide(snaps, policies)
                if not to_remove:
                    return RetentionResult(
                        repo_name,
                        "nothing",
                        _("retention on {repository} ({priorities}): nothing to forget").format(
                            repository=repo_name, priorities=", ".join(policies)
                        ),
                        groups,
                    )
                remove_snapshots(repo, to_remove)
                gone = {s.id for s in to_remove}
                self._snapshots[repo_name] = [
                    s for s in self._snapshots.get(repo_name, []) if s.id not in gone
                ]
                pruned = prune(repo)
        except LockError as exc:
            return RetentionResult(
                repo_name,
                "postponed",
                _(
                    "retention on {repository} postponed: {reason}; it will run after the next backup"
                ).format(repository=repo_name, reason=exc.message),
            )
        except CadangError as exc:
            return RetentionResult(
                repo_name,
                "failed",
                _("retention on {repository} failed: {reason}").format(
                    repository=repo_name, reason=exc.message
                ),
            )
        return RetentionResult(
            repo_name,
            "applied",
            _(
                "retention on {repository} ({priorities}): {n} snapshot(s) forgotten, "
                "{freed} freed by prune"
            ).format(
                repository=repo_name,
                priorities=", ".join(policies),
                n=len(to_remove),
                freed=human_size(pruned.bytes_freed),
            ),
            groups,
            pruned.as_dict(),
        )

    @staticmethod
    def _decide(
        snaps: list[Snapshot], policies: dict[str, RetentionPolicy]
    ) -> tuple[list[GroupRetention], list[Snapshot]]:
        """Per priority with a policy, per (application, source): what to keep and forget."""
        grouped: dict[tuple[str, str, str], list[Snapshot]] = {}
        for s in snaps:
            prio, app, src = (tag_value(s.tags, k) for k in ("priority", "app", "source"))
            if prio in policies and app and src:
                grouped.setdefault((prio, app, src), []).append(s)
        groups: list[GroupRetention] = []
        to_remove: list[Snapshot] = []
        for (prio, app, src), members in sorted(grouped.items()):
            g = GroupRetention(app=app, source=src, priority=prio)
            for d in apply_policy(members, to_policy(policies[prio])):
                if d.keep:
                    g.kept.append(d.snapshot.id)
                else:
                    to_remove.append(d.snapshot)
                    g.forgotten.append(
                        {
                            "id": d.snapshot.id,
                            "label": d.snapshot.label,
                            "time": d.snapshot.time.isoformat(),
                        }
                    )
            groups.append(g)
        return groups, to_remove

    # --- copies ---------------------------------------------------------------------------
    def _copies(self) -> list[CopyOutcome]:
        out = []
        for dest_name in self.plan.copies:
            ref = self.plan.repositories[dest_name]
            path = location(ref)
            if not is_present(ref):
                out.append(
                    CopyOutcome(
                        dest_name,
                        path,
                        "not present",
                        _("{repository} not present ({path}): copy skipped").format(
                            repository=dest_name, path=path
                        ),
                    )
                )
                continue
            sources = {
                name: snaps
                for name, snaps in self._snapshots.items()
                if name != dest_name and snaps
            }
            if not sources:
                out.append(
                    CopyOutcome(
                        dest_name,
                        path,
                        "nothing",
                        _("{repository}: no new snapshot to copy").format(repository=dest_name),
                    )
                )
                continue
            out.append(self._copy_to(dest_name, path, sources))
        return out

    def _copy_to(
        self, dest_name: str, path: str, sources: dict[str, list[Snapshot]]
    ) -> CopyOutcome:
        outcome = CopyOutcome(dest_name, path, "copied", "")
        try:
            dst = open_repository(dest_name, self.plan.repositories[dest_name])
            try:
                for src_name, snaps in sources.items():
                    src = self._repos[src_name]
                    with (
                        locked(src, exclusive=False, wait=self.lock_wait),
                        locked(dst, exclusive=False, wait=self.lock_wait),
                    ):
                        src.load_index()  # fresh: retention may have pruned meanwhile
                        dst.load_index()
                        for r in Copier(src, dst).copy(snaps):
                            outcome.snapshots.append(r.as_dict())
                            outcome.copied += 0 if r.skipped else 1
                            outcome.skipped += 1 if r.skipped else 0
                            outcome.bytes_added += r.bytes_added
            finally:
                dst.close()
        except CadangError as exc:
            outcome.status = "failed"
            outcome.message = _(
                "copy to {repository} failed: {reason} ({n} snapshot(s) copied before)"
            ).format(repository=dest_name, reason=exc.message, n=outcome.copied)
            return outcome
        outcome.message = _("copied {n} snapshot(s) to {repository} ({path}), {size} added").format(
            n=outcome.copied, repository=dest_name, path=path, size=human_size(outcome.bytes_added)
        )
        return outcome

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
            prios = sorted({a.priority.value for a in apps})
            for p in prios:
                policy = self.plan.retention.get(Priority(p))
                shown = describe_policy(policy) if policy is not None else "-"
                report.retention.append(
                    RetentionResult(
                        repo_name,
                        "planned",
                        _(
                            "retention on {repository} for {priority}: {policy}, per application "
                            "and source, then prune if anything is forgotten"
                        ).format(repository=repo_name, priority=p, policy=shown),
                    )
                )
        for dest_name in self.plan.copies:
            ref = self.plan.repositories[dest_name]
            path = location(ref)
            if is_present(ref):
                msg = _("this run's snapshots would be copied to {repository} ({path})").format(
                    repository=dest_name, path=path
                )
                status = "planned"
            else:
                msg = _("{repository} not present ({path}): copy would be skipped").format(
                    repository=dest_name, path=path
                )
                status = "not present"
            report.copies.append(CopyOutcome(dest_name, path, status, msg))
