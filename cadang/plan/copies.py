"""Copies after a run: this run's snapshots go to every repository under ``copies``.

A copy repository is usually an external disk: one that is not connected is reported
(``not present``), never an error. Each source repository and the destination are held
under shared locks while the snapshots are copied; a failure is reported with how many
snapshots were copied before it.
"""

from __future__ import annotations

from cadang.errors import CadangError
from cadang.i18n import _
from cadang.plan.model import Plan
from cadang.plan.report import CopyOutcome, human_size
from cadang.plan.repos import is_present, location, open_repository
from cadang.repo.copier import Copier
from cadang.repo.locks import locked
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot


def copy_snapshots(
    plan: Plan,
    snapshots: dict[str, list[Snapshot]],
    repos: dict[str, Repository],
    *,
    lock_wait: float,
) -> list[CopyOutcome]:
    """Copy ``snapshots`` (repository name -> this run's snapshots, open in ``repos``)."""
    out = []
    for dest_name in plan.copies:
        ref = plan.repositories[dest_name]
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
        sources = {name: snaps for name, snaps in snapshots.items() if name != dest_name and snaps}
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
        out.append(copy_to(plan, dest_name, path, sources, repos, lock_wait=lock_wait))
    return out


def copy_to(
    plan: Plan,
    dest_name: str,
    path: str,
    sources: dict[str, list[Snapshot]],
    repos: dict[str, Repository],
    *,
    lock_wait: float,
) -> CopyOutcome:
    outcome = CopyOutcome(dest_name, path, "copied", "")
    try:
        dst = open_repository(dest_name, plan.repositories[dest_name])
        try:
            for src_name, snaps in sources.items():
                src = repos[src_name]
                with (
                    locked(src, exclusive=False, wait=lock_wait),
                    locked(dst, exclusive=False, wait=lock_wait),
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


def planned_copies(plan: Plan) -> list[CopyOutcome]:
    """--dry-run: where this run's snapshots would be copied."""
    out: list[CopyOutcome] = []
    for dest_name in plan.copies:
        ref = plan.repositories[dest_name]
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
        out.append(CopyOutcome(dest_name, path, status, msg))
    return out
