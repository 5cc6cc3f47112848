"""``cadang -c PLAN verify``: prove the plan's latest backups (or a chosen one) restorable.

For each selected application and each of its sources, the newest snapshot (or the one
``--snapshot`` names) is read back and restore-tested (:mod:`cadang.checks.verify`) under a
shared lock, and the results are stored beside the snapshot as verification records.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cadang.checks.verify import SnapshotVerification, verify_snapshot
from cadang.errors import CadangError, SnapshotNotFoundError
from cadang.i18n import _
from cadang.plan.model import Application, Plan
from cadang.plan.repos import open_repository
from cadang.plan.restore import find_snapshot_in
from cadang.plan.run import Clock, local_now, select_applications, tag_value
from cadang.repo.locks import locked
from cadang.repo.policy import newest_first
from cadang.repo.snapshot import Snapshot, load_all


@dataclass
class VerifyReport:
    started: str
    results: list[SnapshotVerification] = field(default_factory=list)
    # app/source -> why it was not verified (no snapshot yet, repository missing)
    not_verified: list[tuple[str, str, str]] = field(default_factory=list)
    duration: float = 0.0

    @property
    def failed(self) -> list[SnapshotVerification]:
        return [r for r in self.results if r.failed]

    @property
    def exit_code(self) -> int:
        """0: every snapshot verified (or had no test to run); 1: a failure, or a source
        that could not be verified at all (no snapshot, repository unreadable)."""
        return 1 if self.failed or self.not_verified else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "duration": self.duration,
            "ok": self.exit_code == 0,
            "results": [r.to_json() for r in self.results],
            "not_verified": [
                {"app": a, "source": s, "reason": reason} for a, s, reason in self.not_verified
            ],
            "exit_code": self.exit_code,
        }


def _latest(
    snaps: list[Snapshot], app: Application
) -> tuple[list[tuple[str, Snapshot]], list[tuple[str, str]]]:
    """(source, newest snapshot) pairs, and (source, reason) for sources without one."""
    mine = [s for s in snaps if tag_value(s.tags, "app") == app.name]
    pairs, missing = [], []
    for config in app.sources:
        of_source = [s for s in mine if tag_value(s.tags, "source") == config.name]
        if of_source:
            pairs.append((config.name, newest_first(of_source)[0]))
        else:
            missing.append((config.name, _("no snapshot yet")))
    return pairs, missing


def verify_plan(
    plan: Plan,
    *,
    apps: Sequence[str] | None = None,
    snapshot: str = "latest",
    restore_test: bool = True,
    clock: Clock = local_now,
    lock_wait: float = 30.0,
) -> VerifyReport:
    """Verify the selected applications' newest snapshots (or the one ``snapshot`` names)."""
    start = time.monotonic()
    report = VerifyReport(started=clock().isoformat(timespec="seconds"))
    chosen = select_applications(plan, None, apps)
    by_repo: dict[str, list[Application]] = {}
    for app in chosen:
        by_repo.setdefault(plan.repository_for(app)[0], []).append(app)
    found_ref = snapshot == "latest"
    for repo_name, repo_apps in by_repo.items():
        try:
            repo = open_repository(repo_name, plan.repositories[repo_name])
        except CadangError as exc:
            for app in repo_apps:
                for c in app.sources:
                    report.not_verified.append((app.name, c.name, exc.message))
            continue
        try:
            with locked(repo, exclusive=False, wait=lock_wait):
                repo.load_index()
                snaps = load_all(repo, errors=[])
                for app in repo_apps:
                    settings = plan.verify_settings(app)
                    if snapshot == "latest":
                        pairs, missing = _latest(snaps, app)
                        report.not_verified += [(app.name, s, why) for s, why in missing]
                    else:
                        mine = [s for s in snaps if tag_value(s.tags, "app") == app.name]
                        try:
                            snap = find_snapshot_in(repo, mine, snapshot, app.name)
                        except SnapshotNotFoundError:
                            continue
                        found_ref = True
                        pairs = [(tag_value(snap.tags, "source") or "", snap)]
                    for source, snap in pairs:
                        config = next((c for c in app.sources if c.name == source), None)
                        report.results.append(
                            verify_snapshot(
                                repo,
                                snap,
                                config,
                                settings,
                                app=app.name,
                                restore=restore_test,
                                clock=clock,
                            )
                        )
                        if config is None:
                            report.results[-1].source = source
        finally:
            repo.close()
    if not found_ref:
        raise SnapshotNotFoundError(
            _("no snapshot {ref!r} among the snapshots of {apps}").format(
                ref=snapshot, apps=", ".join(a.name for a in chosen)
            ),
            hint=_("'cadang -c PLAN history' lists them"),
        )
    report.duration = round(time.monotonic() - start, 3)
    return report
