"""Files and folders: the engine's own file backup, with the plan's paths and excludes.

Restore goes through the engine's :class:`~cadang.repo.restorer.Restorer`, so the reader
handed to :meth:`FilesSourceImpl.restore` must be a
:class:`~cadang.repo.streams.SnapshotStreamReader` (it knows the repository and snapshot):

* ``RestoreTarget(into=DIR)``: the snapshot's absolute paths are recreated under ``DIR``
  (``/srv/app`` comes back as ``DIR/srv/app``); ``DIR`` may exist.
* ``RestoreTarget(in_place=True)``: restored to ``/``, i.e. over the original paths. Files in
  the snapshot are overwritten; files created since the backup are left alone.
"""

from __future__ import annotations

import os

from cadang.errors import RestoreError, SourceError, UsageError
from cadang.i18n import _
from cadang.repo.restorer import Restorer
from cadang.repo.streams import SnapshotStreamReader
from cadang.sources.base import (
    BackupSpec,
    RequiredTool,
    RestoreOutcome,
    RestoreTarget,
    StreamReader,
)
from cadang.sources.config import FilesSource


class FilesSourceImpl:
    kind = "files"

    def __init__(self, config: FilesSource) -> None:
        self.config = config
        self.name = config.name

    def required_tools(self) -> list[RequiredTool]:
        return []

    def probe(self) -> str:
        problems = []
        for p in self.config.paths:
            if not os.path.lexists(p):
                problems.append(_("{path} does not exist").format(path=p))
            elif not os.access(p, os.R_OK) or (os.path.isdir(p) and not os.access(p, os.X_OK)):
                problems.append(_("{path} cannot be read").format(path=p))
        if problems:
            raise SourceError(
                "; ".join(problems), hint=_("fix paths in the plan, or the permissions")
            )
        return _("{count} paths readable").format(count=len(self.config.paths))

    def describe(self) -> list[str]:
        line = _("files: {paths}").format(paths=", ".join(self.config.paths))
        if self.config.exclude:
            line += " " + _("(excluding {patterns})").format(
                patterns=", ".join(self.config.exclude)
            )
        if self.config.one_file_system:
            line += " " + _("(one file system)")
        return [line]

    def backup_spec(self) -> BackupSpec:
        return BackupSpec(
            paths=list(self.config.paths),
            excludes=list(self.config.exclude),
            one_file_system=self.config.one_file_system,
        )

    def restore(self, reader: StreamReader, target: RestoreTarget) -> RestoreOutcome:
        if not isinstance(reader, SnapshotStreamReader):
            raise UsageError(_("files are restored from a snapshot in a repository"))
        if target.in_place and target.into:
            raise UsageError(_("give either a target directory or in place, not both"))
        if not target.in_place and not target.into:
            raise UsageError(
                _("say where to restore the files"),
                hint=_("give a target directory, or restore in place"),
            )
        where = "/" if target.in_place else os.path.abspath(target.into or "")
        summary = Restorer(reader.repo).restore(reader.snapshot, where)
        if summary.errors:
            first_path, first_message = summary.errors[0]
            raise RestoreError(
                _("{count} entries could not be restored, e.g. {path}: {reason}").format(
                    count=len(summary.errors), path=first_path, reason=first_message
                )
            )
        restored = (
            list(reader.snapshot.paths)
            if target.in_place
            else [os.path.join(where, p.lstrip("/")) for p in reader.snapshot.paths]
        )
        details = [
            _("{files} files, {dirs} folders, {bytes} bytes written").format(
                files=summary.files, dirs=summary.dirs, bytes=summary.bytes
            ),
            *summary.warnings,
        ]
        return RestoreOutcome(restored=restored, details=details)
