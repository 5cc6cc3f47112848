"""``cadang -c PLAN status``: is every application backed up, recently, and restorable?

For each application and each of its sources:

* the **last backup** (time, label, age) — the newest snapshot the run tagged with it;
* the **last good backup**: the newest snapshot that read every file (not partial) and whose
  newest verification did not fail. Its age is held against the application's priority
  (plan option ``overdue_after_hours``: daily 26 h, weekly 8 days, monthly 32 days by
  default); older, or none at all, is **overdue**;
* the **last verification** (time, kind, result) from the verification records stored
  beside the snapshots, and when the source was last **verified restorable** (a passed
  restore test, or for sources without one a passed read-back);
* **check failures** of the last pre-backup checklist that covered the application (from
  the state directory, :mod:`cadang.plan.state`), including those of its repository.

Anything overdue or failed makes the exit code 1, so cron or a monitoring system can alert.
Nothing is changed and no lock is taken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cadang.checks.base import Checklist
from cadang.checks.verify import describe
from cadang.errors import CadangError
from cadang.i18n import _
from cadang.plan.model import Application, Plan
from cadang.plan.repos import open_repository
from cadang.plan.run import Clock, local_now, select_applications, tag_value
from cadang.plan.state import load_checklists
from cadang.repo.policy import newest_first
from cadang.repo.snapshot import Snapshot, load_all
from cadang.repo.verification import Kind, Verification, by_snapshot, load_verifications


def show_age(hours: float) -> str:
    """An age for people: 40 min, 5 h, 3 d 4 h."""
    if hours < 1:
        return _("{n} min").format(n=int(hours * 60))
    if hours < 48:
        return _("{n} h").format(n=int(hours))
    days, rest = divmod(int(hours), 24)
    return _("{d} d {h} h").format(d=days, h=rest)


@dataclass
class BackupInfo:
    id: str
    label: str
    time: str  # ISO 8601
    age_hours: float
    partial: bool  # some files could not be read

    @classmethod
    def of(cls, snap: Snapshot, now: dt.datetime) -> BackupInfo:
        errors = (snap.summary or {}).get("errors")
        return cls(
            id=snap.id,
            label=snap.label,
            time=snap.time.isoformat(timespec="seconds"),
            age_hours=round((now - snap.time).total_seconds() / 3600, 2),
            partial=bool(errors),
        )


@dataclass
class VerificationInfo:
    snapshot: str
    time: str
    kind: str
    result: str
    summary: str  # the first error, or what was compared

    @classmethod
    def of(cls, r: Verification) -> VerificationInfo:
        return cls(
            snapshot=r.snapshot,
            time=r.time.isoformat(timespec="seconds"),
            kind=r.kind.value,
            result=r.result.value,
            summary=describe(r) if r.passed else (r.errors[0] if r.errors else ""),
        )


@dataclass
class SourceStatus:
    app: str
    source: str
    kind: str
    last_backup: BackupInfo | None = None
    last_good_backup: BackupInfo | None = None
    limit_hours: float = 0.0
    overdue: bool = False
    last_verification: VerificationInfo | None = None
    restorable_on: str | None = None  # ISO time of the newest passed restore test
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AppStatus:
    name: str
    owner: str
    priority: str
    repository: str
    sources: list[SourceStatus] = field(default_factory=list)
    checklist_time: str | None = None  # when the last pre-backup checklist ran
    check_failures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # e.g. the repository cannot be read

    @property
    def ok(self) -> bool:
        return not (self.problems or self.check_failures or any(s.problems for s in self.sources))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "priority": self.priority,
            "repository": self.repository,
            "ok": self.ok,
            "checklist_time": self.checklist_time,
            "check_failures": self.check_failures,
            "problems": self.problems,
            "sources": [s.to_json() for s in self.sources],
        }


@dataclass
class StatusReport:
    organization: str
    time: str
    applications: list[AppStatus] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # unreadable snapshots or records

    @property
    def exit_code(self) -> int:
        return 0 if all(a.ok for a in self.applications) else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "time": self.time,
            "ok": self.exit_code == 0,
            "applications": [a.to_json() for a in self.applications],
            "warnings": self.warnings,
            "exit_code": self.exit_code,
        }


def _source_status(
    app: Application,
    source: str,
    kind: str,
    snaps: list[Snapshot],
    records: dict[str, list[Verification]],
    limit_hours: float,
    now: dt.datetime,
) -> SourceStatus:
    st = SourceStatus(app=app.name, source=source, kind=kind, limit_hours=limit_hours)
    mine = newest_first(
        s
        for s in snaps
        if tag_value(s.tags, "app") == app.name and tag_value(s.tags, "source") == source
    )
    if mine:
        st.last_backup = BackupInfo.of(mine[0], now)
    for snap in mine:
        recs = records.get(snap.id, [])
        if not BackupInfo.of(snap, now).partial and not (recs and not recs[-1].passed):
            st.last_good_backup = BackupInfo.of(snap, now)
            break
    all_records = sorted(
        (r for s in mine for r in records.get(s.id, [])), key=lambda r: (r.time, r.id)
    )
    if all_records:
        # The newest restore test tells most (a read-back only when no test was made),
        # unless something failed since.
        tests = [r for r in all_records if r.kind is Kind.RESTORE_TEST]
        newest = all_records[-1]
        shown = newest if not newest.passed else (tests or all_records)[-1]
        st.last_verification = VerificationInfo.of(shown)
        passed = [r for r in tests if r.passed] or (
            [] if tests else [r for r in all_records if r.passed]
        )
        if passed:
            st.restorable_on = passed[-1].time.isoformat(timespec="seconds")
    if st.last_good_backup is None:
        st.overdue = True
        st.problems.append(
            _("no good backup yet")
            if st.last_backup is None
            else _(
                "no good backup: the last one ({time}) is partial or failed verification"
            ).format(time=st.last_backup.time[:16].replace("T", " "))
        )
    elif st.last_good_backup.age_hours > limit_hours:
        st.overdue = True
        st.problems.append(
            _("overdue: the last good backup is {age} old (limit for {priority}: {limit})").format(
                age=show_age(st.last_good_backup.age_hours),
                priority=app.priority.value,
                limit=show_age(limit_hours),
            )
        )
    if mine:
        latest = records.get(mine[0].id, [])
        failed = [r for r in latest if not r.passed]
        if failed and latest[-1] is failed[-1]:
            st.problems.append(
                _("the latest backup {id} failed verification on {time}: {reason}").format(
                    id=mine[0].short_id,
                    time=failed[-1].time.strftime("%Y-%m-%d %H:%M"),
                    reason=failed[-1].errors[0] if failed[-1].errors else "-",
                )
            )
    return st


def _check_failures(
    checklist: Checklist | None, app: str, repository: str
) -> tuple[str | None, list[str]]:
    if checklist is None:
        return None, []
    failures = [
        _("{subject}: {summary}").format(subject=r.subject, summary=r.summary)
        for r in checklist.failures()
        if r.app == app or (not r.app and r.repository == repository)
    ]
    return checklist.started, failures


def plan_status(
    plan: Plan,
    *,
    apps: Sequence[str] | None = None,
    clock: Clock = local_now,
    checklists: list[Checklist] | None = None,
) -> StatusReport:
    """The status of the selected applications (all by default); reads, changes nothing.

    ``checklists`` (newest first) default to those in the plan's state directory.
    """
    now = clock()
    report = StatusReport(plan.organization.name, now.isoformat(timespec="seconds"))
    chosen = select_applications(plan, None, apps)
    if checklists is None:
        checklists = load_checklists(plan)
    by_repo: dict[str, list[Application]] = {}
    for app in chosen:
        by_repo.setdefault(plan.repository_for(app)[0], []).append(app)
    statuses: dict[str, AppStatus] = {}
    for repo_name, repo_apps in by_repo.items():
        snaps: list[Snapshot] = []
        records: dict[str, list[Verification]] = {}
        problem = ""
        try:
            repo = open_repository(repo_name, plan.repositories[repo_name])
            try:
                snaps = load_all(repo, report.warnings)
                records = by_snapshot(load_verifications(repo, errors=report.warnings))
            finally:
                repo.close()
        except CadangError as exc:
            problem = _("repository {name} cannot be read: {reason}").format(
                name=repo_name, reason=exc.message
            )
        for app in repo_apps:
            a = AppStatus(app.name, app.owner, app.priority.value, repo_name)
            if problem:
                a.problems.append(problem)
            limit = plan.overdue_after_hours.hours(app.priority)
            for config in app.sources:
                a.sources.append(
                    _source_status(app, config.name, config.type, snaps, records, limit, now)
                )
            latest = next((c for c in checklists if app.name in c.apps), None)
            a.checklist_time, a.check_failures = _check_failures(latest, app.name, repo_name)
            statuses[app.name] = a
    report.applications = [statuses[a.name] for a in chosen]
    return report
