"""The state directory: records of checks and runs, kept on the host that runs the backups.

Where it is, first match wins:

1. the environment variable ``CADANG_STATE_DIR``;
2. ``state_dir:`` in the plan (relative to the plan file's folder);
3. ``/var/lib/cadang`` when running as root and it can be written (or created);
4. ``$XDG_STATE_HOME/cadang``, by default ``~/.local/state/cadang``.

Layout: one JSON file per record, named by the UTC time it was saved plus a random suffix
so that names sort in time order and never collide::

    checks/20250301T230000Z-1a2b3c4d.json   a pre-backup checklist (Checklist.to_json)
    runs/20250301T230012Z-5e6f7a8b.json     a run report (RunReport.to_json)
    <category>/...                          other records (e.g. verification results)

Files are written to a temporary name, fsynced and renamed, so a crash never leaves half a
record; a record that cannot be read is skipped by the readers. The directory is created
with mode 0700 (records name databases and, after an infection, files).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cadang.checks.base import Checklist
from cadang.errors import UsageError
from cadang.i18n import _
from cadang.plan.model import Plan

__all__ = [
    "STATE_ENV",
    "SourceSizes",
    "StateStore",
    "last_run_sizes",
    "load_checklists",
    "open_state",
    "save_checklist",
    "save_run_report",
    "state_dir",
]

STATE_ENV = "CADANG_STATE_DIR"
SYSTEM_STATE_DIR = "/var/lib/cadang"
CHECKS = "checks"
RUNS = "runs"
_RECENT_RUNS = 50  # run reports looked at for the expected size of a source


class SupportsJson(Protocol):
    def to_json(self) -> dict[str, Any]: ...


def _user_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "cadang"


def _root_can_use(path: str) -> bool:
    if os.path.isdir(path):
        return os.access(path, os.W_OK | os.X_OK)
    parent = os.path.dirname(path)
    return os.path.isdir(parent) and os.access(parent, os.W_OK | os.X_OK)


def state_dir(plan: Plan | None = None) -> Path:
    """The state directory (see the module's docstring); not created here."""
    env = os.environ.get(STATE_ENV)
    if env:
        return Path(os.path.expanduser(env))
    if plan is not None and plan.state_dir:
        return Path(os.path.expanduser(plan.state_dir))
    if os.geteuid() == 0 and _root_can_use(SYSTEM_STATE_DIR):
        return Path(SYSTEM_STATE_DIR)
    return _user_state_dir()


@dataclass(frozen=True)
class SourceSizes:
    """What the last run that backed up a source read and added."""

    app: str
    source: str
    started: str  # when that source's backup began
    size: int  # bytes read from the source
    data_added: int  # bytes added to the repository
    files: int


class StateStore:
    """Records in one state directory."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    # --- generic records --------------------------------------------------------------------
    def _folder(self, category: str, create: bool) -> Path:
        folder = self.path / category
        if create:
            try:
                self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
                folder.mkdir(mode=0o700, exist_ok=True)
            except OSError as exc:
                raise UsageError(
                    _("cannot create the state directory {path}: {reason}").format(
                        path=folder, reason=exc.strerror or exc
                    ),
                    hint=_("set state_dir in the plan, or CADANG_STATE_DIR, to a writable folder"),
                ) from exc
        return folder

    def save_record(
        self, category: str, data: dict[str, Any], when: dt.datetime | None = None
    ) -> Path:
        """Write one record (JSON) under ``category``; return its file."""
        folder = self._folder(category, create=True)
        stamp = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        final = folder / f"{stamp}-{secrets.token_hex(4)}.json"
        tmp = folder / f".{final.name}.tmp"
        text = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except OSError as exc:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise UsageError(
                _("cannot write a record in the state directory {path}: {reason}").format(
                    path=folder, reason=exc.strerror or exc
                ),
                hint=_("set state_dir in the plan, or CADANG_STATE_DIR, to a writable folder"),
            ) from exc
        return final

    def record_files(self, category: str) -> list[Path]:
        """The record files of ``category``, newest first."""
        folder = self._folder(category, create=False)
        try:
            names = [n for n in os.listdir(folder) if n.endswith(".json") and n[0] != "."]
        except OSError:
            return []
        return [folder / n for n in sorted(names, reverse=True)]

    def load_records(self, category: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Records of ``category``, newest first; unreadable ones are skipped."""
        n = 0
        for path in self.record_files(category):
            if limit is not None and n >= limit:
                return
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                n += 1
                yield data

    # --- checklists ------------------------------------------------------------------------
    def save_checklist(self, checklist: Checklist) -> Path:
        return self.save_record(CHECKS, checklist.to_json())

    def load_checklists(self, app: str | None = None, limit: int | None = None) -> list[Checklist]:
        """Checklists newest first; with ``app``, those that covered that application."""
        out: list[Checklist] = []
        for data in self.load_records(CHECKS):
            try:
                checklist = Checklist.from_json(data)
            except (ValueError, TypeError, AttributeError):
                continue
            if app is not None and app not in checklist.apps:
                continue
            out.append(checklist)
            if limit is not None and len(out) >= limit:
                break
        return out

    # --- run reports -----------------------------------------------------------------------
    def save_run_report(self, report: SupportsJson | dict[str, Any]) -> Path:
        data = report if isinstance(report, dict) else report.to_json()
        return self.save_record(RUNS, data)

    def load_run_reports(self, limit: int | None = None) -> list[dict[str, Any]]:
        return list(self.load_records(RUNS, limit))

    def last_run_sizes(self, app: str, source: str) -> SourceSizes | None:
        """Sizes of the newest run that backed up ``app``/``source`` (succeeded or partial)."""
        for report in self.load_records(RUNS, _RECENT_RUNS):
            if report.get("dry_run"):
                continue
            for entry in report.get("applications") or []:
                if not isinstance(entry, dict) or entry.get("name") != app:
                    continue
                for s in entry.get("sources") or []:
                    if (
                        isinstance(s, dict)
                        and s.get("source") == source
                        and s.get("status") in ("succeeded", "partial")
                    ):
                        return SourceSizes(
                            app=app,
                            source=source,
                            started=str(s.get("started", "")),
                            size=int(s.get("size", 0) or 0),
                            data_added=int(s.get("data_added", 0) or 0),
                            files=int(s.get("files", 0) or 0),
                        )
        return None


def open_state(plan: Plan | None = None) -> StateStore:
    return StateStore(state_dir(plan))


# Module-level shortcuts on the default state directory (of ``plan``, if given).


def save_checklist(checklist: Checklist, plan: Plan | None = None) -> Path:
    return open_state(plan).save_checklist(checklist)


def load_checklists(
    plan: Plan | None = None, app: str | None = None, limit: int | None = None
) -> list[Checklist]:
    return open_state(plan).load_checklists(app=app, limit=limit)


def save_run_report(report: SupportsJson | dict[str, Any], plan: Plan | None = None) -> Path:
    return open_state(plan).save_run_report(report)


def last_run_sizes(app: str, source: str, plan: Plan | None = None) -> SourceSizes | None:
    return open_state(plan).last_run_sizes(app, source)
