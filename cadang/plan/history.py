"""History: the snapshots of the plan's applications, by application and source.

Snapshots are recognised by the tags a run gives them (``app:``, ``source:``), so history
also shows sources that were since removed from the plan. Reading takes no lock, like
``cadang snapshots``: nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cadang.errors import UsageError
from cadang.i18n import _
from cadang.plan.model import Plan
from cadang.plan.repos import open_repository
from cadang.plan.run import tag_value
from cadang.repo.policy import newest_first
from cadang.repo.snapshot import Snapshot, load_all


@dataclass
class HistoryEntry:
    app: str
    source: str
    repository: str
    id: str
    label: str
    time: str  # ISO 8601, the snapshot's own clock
    size: int  # bytes read from the source
    data_added: int
    files: int
    hostname: str
    tags: list[str]

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @classmethod
    def of(cls, snap: Snapshot, repository: str) -> HistoryEntry:
        summary = snap.summary or {}
        return cls(
            app=tag_value(snap.tags, "app") or "",
            source=tag_value(snap.tags, "source") or "",
            repository=repository,
            id=snap.id,
            label=snap.label,
            time=snap.time.isoformat(timespec="seconds"),
            size=int(summary.get("total_bytes", 0) or 0),
            data_added=int(summary.get("data_added", 0) or 0),
            files=int(summary.get("total_files", 0) or 0),
            hostname=snap.hostname,
            tags=list(snap.tags),
        )


@dataclass
class History:
    """Entries ordered by application (plan order), source, then newest first."""

    entries: list[HistoryEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # unreadable snapshots

    def groups(self) -> list[tuple[str, str, list[HistoryEntry]]]:
        out: list[tuple[str, str, list[HistoryEntry]]] = []
        for e in self.entries:
            if out and out[-1][0] == e.app and out[-1][1] == e.source:
                out[-1][2].append(e)
            else:
                out.append((e.app, e.source, [e]))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "applications": [
                {
                    "app": app,
                    "source": source,
                    "snapshots": [
                        {
                            "id": e.id,
                            "short_id": e.short_id,
                            "label": e.label,
                            "time": e.time,
                            "size": e.size,
                            "data_added": e.data_added,
                            "files": e.files,
                            "repository": e.repository,
                            "hostname": e.hostname,
                            "tags": e.tags,
                        }
                        for e in entries
                    ],
                }
                for app, source, entries in self.groups()
            ],
            "warnings": self.warnings,
        }


def load_history(plan: Plan, app: str | None = None) -> History:
    """Every tagged snapshot of the plan's repositories (only ``app``'s when given)."""
    known = [a.name for a in plan.applications]
    if app is not None and app not in known:
        raise UsageError(
            _("unknown application {name!r}").format(name=app),
            hint=_("the plan has: {known}").format(known=", ".join(known)),
        )
    apps = [a for a in plan.applications if app is None or a.name == app]
    repo_names = list(dict.fromkeys(plan.repository_for(a)[0] for a in apps))
    history = History()
    found: list[tuple[Snapshot, str]] = []
    for name in repo_names:
        repo = open_repository(name, plan.repositories[name])
        try:
            errors: list[str] = []
            for s in load_all(repo, errors):
                s_app = tag_value(s.tags, "app")
                if s_app and tag_value(s.tags, "source") and (app is None or s_app == app):
                    found.append((s, name))
            history.warnings.extend(errors)
        finally:
            repo.close()
    # Applications and their sources in plan order (others after them), newest first.
    order = {(a.name, ""): i * 1000 for i, a in enumerate(plan.applications)}
    for i, a in enumerate(plan.applications):
        order.update({(a.name, c.name): i * 1000 + j + 1 for j, c in enumerate(a.sources)})
    newest = {s.id: i for i, s in enumerate(newest_first(s for s, _r in found))}

    def key(sr: tuple[Snapshot, str]) -> tuple[int, int, str, str, int]:
        a, src = tag_value(sr[0].tags, "app") or "", tag_value(sr[0].tags, "source") or ""
        return (order.get((a, ""), 1 << 30), order.get((a, src), 1 << 30), a, src, newest[sr[0].id])

    found.sort(key=key)
    history.entries = [HistoryEntry.of(s, r) for s, r in found]
    return history
