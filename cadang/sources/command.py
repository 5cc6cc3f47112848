"""Any other data: a command whose standard output is the backup.

Backup: ``backup`` runs with stdin from /dev/null; its stdout is one stream named
``filename`` (default ``<source>.out``). A non-zero exit means no snapshot.

Restore: ``restore`` runs with the stream on its stdin. It is told the target by
``{into}`` in its arguments (replaced by the new name; an error if a new name is needed but
none was given) and by the environment: ``CADANG_RESTORE_MODE`` is ``new`` or
``in-place``, ``CADANG_RESTORE_INTO`` the new name (empty in place).

Drop (optional): ``drop`` removes a copy restored under a new name (``{into}`` expands, same
environment). With ``{into}`` in ``restore`` and a ``drop``, a restore test restores each
backup under a throw-away name and drops it again; without them no restore test runs, since
a restore command that ignores the new name could overwrite the original.
"""

from __future__ import annotations

from typing import BinaryIO

from cadang.errors import CommandFailedError, UsageError
from cadang.i18n import _
from cadang.sources.base import (
    BackupSpec,
    RequiredTool,
    RestoreOutcome,
    RestoreTarget,
    Stream,
    StreamReader,
)
from cadang.sources.common import which
from cadang.sources.config import CommandSource
from cadang.sources.process import FeedingCommand, StreamingCommand, run_command, shown_command


def stream_name(config: CommandSource) -> str:
    return config.filename or f"{config.name}.out"


def restore_argv(config: CommandSource, target: RestoreTarget) -> list[str]:
    """The restore command with ``{into}`` expanded."""
    if not config.restore:
        raise UsageError(
            _("source {name} has no restore command").format(name=config.name),
            hint=_("add restore: to the source in the plan, or take the data out with cadang dump"),
        )
    if target.in_place and target.into:
        raise UsageError(_("give either a new name or in place, not both"))
    uses_into = any("{into}" in a for a in config.restore)
    if uses_into and not target.in_place and not target.into:
        raise UsageError(
            _("the restore command of {name} needs a new name ({{into}})").format(name=config.name),
            hint=_("give a new name, or restore in place"),
        )
    into = target.into or ""
    return [a.replace("{into}", into) for a in config.restore]


def restore_env(target: RestoreTarget) -> dict[str, str]:
    return {
        "CADANG_RESTORE_MODE": "in-place" if target.in_place else "new",
        "CADANG_RESTORE_INTO": target.into or "",
    }


class CommandSourceImpl:
    kind = "command"

    def __init__(self, config: CommandSource) -> None:
        self.config = config
        self.name = config.name

    def required_tools(self) -> list[RequiredTool]:
        # The package is unknown: it is the office's own tool.
        commands = [self.config.backup[0]] + (
            [self.config.restore[0]] if self.config.restore else []
        )
        return [RequiredTool(c, "") for c in dict.fromkeys(commands)]

    def probe(self) -> str:
        path = which(self.config.backup[0])
        if path is None:
            raise UsageError(
                _("command not found: {command}").format(command=self.config.backup[0]),
                hint=_("install it, or give its full path"),
            )
        return _("{command} found (not run)").format(command=path)

    def describe(self) -> list[str]:
        return [
            _("run {command} -> {stream}").format(
                command=shown_command(self.config.backup), stream=stream_name(self.config)
            )
        ]

    def backup_spec(self) -> BackupSpec:
        cmd = StreamingCommand(self.config.backup)

        def start() -> BinaryIO:
            return cmd.start()

        return BackupSpec(streams=[Stream(stream_name(self.config), start, cmd.finish, cmd.close)])

    def drop(self, name: str) -> None:
        """Remove the copy a restore made under the new name ``name`` (the ``drop``
        command, with ``{into}`` expanded); a restore test's throw-away copy."""
        if not self.config.drop:
            raise UsageError(
                _("source {name} has no drop command").format(name=self.config.name),
                hint=_("add drop: to the source in the plan"),
            )
        argv = [a.replace("{into}", name) for a in self.config.drop]
        result = run_command(argv, env=restore_env(RestoreTarget(into=name)))
        if not result.ok:
            raise CommandFailedError(result.message)

    def restore(self, reader: StreamReader, target: RestoreTarget) -> RestoreOutcome:
        argv = restore_argv(self.config, target)
        names = reader.names()
        name = stream_name(self.config)
        if name not in names and len(names) == 1:
            name = names[0]  # the filename was changed in the plan since
        with reader.open(name) as stream:
            FeedingCommand(argv, env=restore_env(target)).feed(stream)
        return RestoreOutcome(
            restored=[target.into or self.name],
            details=[
                _("{stream} fed to {command}").format(stream=name, command=shown_command(argv))
            ],
        )
