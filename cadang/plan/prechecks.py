"""The pre-backup checklist of SOP 000, built from the plan, and what it means for a run.

For the selected applications:

* **network** and **storage** for each repository they back up to, and for every
  repository under ``copies`` (an absent copy target is a warning: the external disk may be
  unplugged). The storage check expects the run to add what the same sources added last
  time (the run records in the state directory); storage is not checked on a repository
  the network check could not reach.
* **database** for each database source (PostgreSQL, MariaDB, SQLite, Oracle).
* **antivirus** for each ``files`` source (the application's ``antivirus`` policy).

What the records mean for the run (:class:`PreChecks`):

* a failed database check fails that source (it is not dumped);
* a failed network or storage check of an application's repository fails all of that
  application's sources;
* an infection under ``on_infection: block`` fails all of the application's sources;
  under ``quarantine-and-continue`` the infected files are left out of that source's
  backup (:meth:`PreChecks.spec_for`).

A record that must be escalated (a failure, an infection) makes the checklist need
attention, and the plan's ``escalation`` contacts are named with it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cadang.checks.antivirus import AntivirusCheck, leave_out, shown
from cadang.checks.base import (
    Check,
    CheckKind,
    Checklist,
    CheckRecord,
    Clock,
    Result,
    local_now,
)
from cadang.checks.database import DatabaseCheck, is_database
from cadang.checks.network import NetworkCheck
from cadang.checks.storage import StorageCheck
from cadang.i18n import _
from cadang.plan.model import Application, FilesSource, Plan
from cadang.plan.repos import location
from cadang.plan.state import StateStore
from cadang.sources.base import BackupSpec

__all__ = ["PreChecks", "escalation_contacts", "run_prechecks"]


@dataclass
class PreChecks:
    """A checklist and what it decides for the run's sources."""

    checklist: Checklist
    # (app, source) -> (why, what to do) for the sources that must not be backed up
    blocked: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    quarantined: dict[tuple[str, str], list[bytes]] = field(default_factory=dict)

    def blocked_reason(self, app: str, source: str) -> tuple[str, str] | None:
        """Why the source must not be backed up, and what to do; None: it may be."""
        return self.blocked.get((app, source))

    def quarantined_shown(self, app: str, source: str) -> list[str]:
        """The files left out of the source's backup, for reports."""
        return [shown(p) for p in self.quarantined.get((app, source), [])]

    def spec_for(self, app: str, source: str, spec: BackupSpec) -> BackupSpec:
        """The source's backup spec with quarantined files left out."""
        paths = self.quarantined.get((app, source))
        return leave_out(spec, paths) if paths else spec


def escalation_contacts(plan: Plan) -> list[dict[str, str]]:
    return [{k: v for k, v in c.model_dump().items() if v is not None} for c in plan.escalation]


def _repositories(plan: Plan, apps: list[Application]) -> dict[str, bool]:
    """Repository name -> is only a copy target, in the order they are checked."""
    out: dict[str, bool] = {}
    for app in apps:
        out[plan.repository_for(app)[0]] = False
    for name in plan.copies:
        out.setdefault(name, True)
    return out


def _expected(state: StateStore | None, pairs: list[tuple[str, str]]) -> int | None:
    """What these sources added last time, together (None: no source has a record)."""
    if state is None:
        return None
    total: int | None = None
    for app, source in pairs:
        sizes = state.last_run_sizes(app, source)
        if sizes is not None:
            total = (total or 0) + sizes.data_added
    return total


def run_prechecks(
    plan: Plan,
    apps: list[Application],
    *,
    state: StateStore | None,
    hostname: str | None = None,
    clock: Clock | None = None,
    origin: str = "check-before",
    on_record: Callable[[CheckRecord], None] | None = None,
) -> PreChecks:
    """Run every pre-backup check for ``apps`` (see the module's docstring)."""
    now = clock if clock is not None else local_now
    checklist = Checklist(
        organization=plan.organization.name,
        hostname=hostname or socket.gethostname(),
        started=now().isoformat(timespec="seconds"),
        apps=[a.name for a in apps],
        origin=origin,
    )
    t0 = time.monotonic()
    pre = PreChecks(checklist)

    def add(check: Check) -> CheckRecord:
        record = check.run()
        checklist.records.append(record)
        if on_record is not None:
            on_record(record)
        return record

    # Repositories: reachable, then room.
    failed_repos: dict[str, CheckRecord] = {}
    all_pairs = [(a.name, s.name) for a in apps for s in a.sources]
    for name, copy_only in _repositories(plan, apps).items():
        where = location(plan.repositories[name])
        net = add(
            NetworkCheck(
                name,
                where,
                is_copy=copy_only,
                max_latency_ms=plan.checks.max_latency_ms,
                clock=now,
            )
        )
        if net.result is Result.FAILED:
            failed_repos[name] = net
            checklist.records.append(
                _not_checked(CheckKind.STORAGE, net, _("not checked: not reachable"))
            )
            continue
        if net.result is Result.WARNING and copy_only and not net.details.get("config_found"):
            continue  # an unplugged external disk: nothing to measure
        pairs = (
            all_pairs
            if copy_only
            else [
                (a.name, s.name)
                for a in apps
                if plan.repository_for(a)[0] == name
                for s in a.sources
            ]
        )
        storage = add(
            StorageCheck(
                name,
                where,
                expected=_expected(state, pairs),
                margin=plan.checks.storage_margin,
                is_copy=copy_only,
                clock=now,
            )
        )
        if storage.result is Result.FAILED and not copy_only:
            failed_repos[name] = storage

    # Sources: databases answer, files are clean.
    for app in apps:
        repo_name = plan.repository_for(app)[0]
        repo_failure = failed_repos.get(repo_name)
        if repo_failure is not None:
            reason = _("repository {name} failed the pre-backup {kind} check: {summary}").format(
                name=repo_name, kind=repo_failure.kind, summary=repo_failure.summary
            )
            for s in app.sources:
                pre.blocked[(app.name, s.name)] = (reason, repo_failure.hint)
        for cfg in app.sources:
            if is_database(cfg):
                rec = add(DatabaseCheck(app.name, cfg, clock=now))
                if rec.failed:
                    pre.blocked.setdefault(
                        (app.name, cfg.name),
                        (
                            _("the pre-backup database check failed: {summary}").format(
                                summary=rec.summary
                            ),
                            rec.hint,
                        ),
                    )
            elif isinstance(cfg, FilesSource):
                av = AntivirusCheck(app.name, cfg, plan.antivirus, app.antivirus, clock=now)
                rec = add(av)
                if av.blocks:
                    reason = _(
                        "backup blocked: the antivirus check found {n} infected file(s) in {source}"
                    ).format(n=len(av.infected), source=cfg.name)
                    for s in app.sources:
                        pre.blocked.setdefault((app.name, s.name), (reason, rec.hint))
                elif av.quarantined:
                    pre.quarantined[(app.name, cfg.name)] = av.quarantined

    checklist.duration = round(time.monotonic() - t0, 3)
    if checklist.needs_attention:
        checklist.escalation = escalation_contacts(plan)
    return pre


def _not_checked(kind: str, cause: CheckRecord, summary: str) -> CheckRecord:
    return CheckRecord(
        kind=kind,
        subject=cause.subject,
        started=cause.started,
        duration=0.0,
        result=Result.SKIPPED,
        summary=summary,
        repository=cause.repository,
    )


def skipped_checklist(
    plan: Plan, apps: list[Application], reason: str, hostname: str | None = None
) -> Checklist:
    """The record of a run whose checks were skipped on purpose (``run --skip-checks``)."""
    checklist = Checklist(
        organization=plan.organization.name,
        hostname=hostname or socket.gethostname(),
        started=local_now().isoformat(timespec="seconds"),
        apps=[a.name for a in apps],
        skipped=reason,
        origin="run",
    )
    checklist.escalation = escalation_contacts(plan)
    return checklist
