"""Oracle: an export (Data Pump ``expdp`` or legacy ``exp``) streamed through a named pipe.

**This source has NOT been run against a live Oracle database.** Oracle cannot run on the
machines Cadang is developed and tested on; the tests drive it with stand-in ``expdp``,
``impdp``, ``exp`` and ``imp`` scripts that check the arguments and write or read the pipe.
What follows is how it is meant to work with the real tools; try a backup *and* a restore
into a new schema on a test server before relying on it.

Oracle's tools insist on writing to (and reading from) a file name, so Cadang makes a named
pipe (FIFO) in a private folder, starts the export with ``file=`` the pipe, and streams
from the pipe into the repository. A pipe is not a dump file: nothing is stored on the local
disk. The import reads from a pipe the same way.

* ``tool: legacy`` (``exp``/``imp``): ``exp ... file=<pipe>`` is the classic, long-used way
  to compress or copy an Oracle export on the fly; this is the recommended setting for
  streaming.
* ``tool: datapump`` (``expdp``/``impdp``): Data Pump does *not* write on the machine that
  runs ``expdp`` — the database server writes the dump file into a DIRECTORY object, and
  ``dumpfile`` takes a file name, not a path. So the pipe must be in the folder of that
  DIRECTORY object, on the database server itself: set ``pipe_dir`` to that folder, create
  the object once (``CREATE DIRECTORY CADANG_PIPE AS '<pipe_dir>'`` and grant READ, WRITE on
  it to the backup user), and run Cadang on the database server. Data Pump is not
  documented to support named pipes (it may need to seek in its dump file); if it refuses,
  use ``tool: legacy``, or an ``export_command`` without ``{file}`` whose standard output is
  the dump.

Commands are templates (``export_command`` / ``import_command`` replace the defaults):

``{connect}``  ``user/password@service`` (the password in a command line is visible to
               other users of the machine; the defaults use ``{parfile}`` instead)
``{parfile}``  a parameter file (mode 0600, in the private folder, removed afterwards)
               holding ``userid=user/"password"@service``
``{schemas}``  the schemas, comma-separated
``{into}``     the schemas to import into, comma-separated, same order (= ``{schemas}`` in
               place)
``{remap}``    ``A:NEW_A,B:NEW_B`` for Data Pump's ``remap_schema``
``{file}``     the pipe's full path; ``{file_name}`` its name alone

An export template without ``{file}``/``{file_name}`` is read from its standard output; an
import template without them gets the dump on its standard input.

One stream per source: ``<SCHEMA>.dmp`` with one schema, ``<source name>.dmp`` with several
(one export, so the schemas are consistent with each other; SOP 001 names .dmp files).

Restore: a new schema per schema (default ``<SCHEMA>_restored_<time>``, or ``into``, with
``{name}`` for several) via ``fromuser``/``touser`` (legacy) or ``remap_schema`` (Data Pump);
in place into the same schemas (Data Pump: ``table_exists_action=replace``; legacy ``imp``
with ``ignore=y`` adds rows to tables that still exist, so empty or drop the schema's
objects first).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from typing import BinaryIO

from cadang.errors import CadangError, RestoreError, SourceError, UsageError
from cadang.i18n import _
from cadang.sources.base import (
    BackupSpec,
    RequiredTool,
    RestoreOutcome,
    RestoreTarget,
    Stream,
    StreamReader,
)
from cadang.sources.common import check_new_names, read_secret, restore_names, stream_base, which
from cadang.sources.config import OracleSource
from cadang.sources.process import (
    BackgroundCommand,
    FeedingCommand,
    StreamingCommand,
    open_fifo_for_reading,
    open_fifo_for_writing,
    shown_command,
)

SUFFIX = ".dmp"
PACKAGE = "Oracle Instant Client (not in Debian)"
DIRECTORY_OBJECT = "CADANG_PIPE"
_COPY = 1 << 20

EXPORT = {
    "legacy": ["exp", "parfile={parfile}", "owner={schemas}", "file={file}", "consistent=y"],
    "datapump": [
        "expdp", "parfile={parfile}", "schemas={schemas}", f"directory={DIRECTORY_OBJECT}",
        "dumpfile={file_name}", "reuse_dumpfiles=y", "nologfile=y",
    ],
}  # fmt: skip
IMPORT_NEW = {
    "legacy": [
        "imp", "parfile={parfile}", "fromuser={schemas}", "touser={into}", "file={file}",
        "ignore=y",
    ],
    "datapump": [
        "impdp", "parfile={parfile}", "schemas={schemas}", "remap_schema={remap}",
        f"directory={DIRECTORY_OBJECT}", "dumpfile={file_name}", "nologfile=y",
    ],
}  # fmt: skip
IMPORT_IN_PLACE = {
    "legacy": [
        "imp", "parfile={parfile}", "fromuser={schemas}", "touser={schemas}", "file={file}",
        "ignore=y",
    ],
    "datapump": [
        "impdp", "parfile={parfile}", "schemas={schemas}", "table_exists_action=replace",
        f"directory={DIRECTORY_OBJECT}", "dumpfile={file_name}", "nologfile=y",
    ],
}  # fmt: skip
_FILE_FIELDS = ("{file}", "{file_name}")


# --- builders (no side effects) --------------------------------------------------------------


def userid(connect: str, password: str | None) -> str:
    """``user/"password"@service`` from ``user@service`` and the secret."""
    if password is None:
        return connect
    user, at, service = connect.partition("@")
    return f'{user}/"{password}"' + (at + service if at else "")


def stream_name(config: OracleSource) -> str:
    base = config.schemas[0] if len(config.schemas) == 1 else config.name
    return stream_base(base) + SUFFIX


def export_template(config: OracleSource) -> list[str]:
    return list(config.export_command or EXPORT[config.tool])


def import_template(config: OracleSource, in_place: bool) -> list[str]:
    if config.import_command:
        return list(config.import_command)
    return list((IMPORT_IN_PLACE if in_place else IMPORT_NEW)[config.tool])


def uses_file(template: list[str]) -> bool:
    return any(f in a for a in template for f in _FILE_FIELDS)


def expand(template: list[str], fields: dict[str, str]) -> list[str]:
    """Replace ``{field}`` in each argument (unknown braces are left as they are)."""
    out = []
    for arg in template:
        for key, value in fields.items():
            arg = arg.replace("{" + key + "}", value)
        out.append(arg)
    return out


def template_fields(
    config: OracleSource,
    password: str | None,
    *,
    pipe: str = "",
    parfile: str = "",
    mapping: dict[str, str] | None = None,
) -> dict[str, str]:
    mapping = mapping or {s: s for s in config.schemas}
    return {
        "connect": userid(config.connect, password),
        "parfile": parfile,
        "schemas": ",".join(config.schemas),
        "into": ",".join(mapping[s] for s in config.schemas),
        "remap": ",".join(f"{s}:{mapping[s]}" for s in config.schemas),
        "file": pipe,
        "file_name": os.path.basename(pipe),
    }


# --- the pipe and its private folder ---------------------------------------------------------


class _PipeFolder:
    """A private folder with the parameter file, and the named pipe (there or in pipe_dir)."""

    def __init__(self, config: OracleSource, password: str | None, pipe: bool) -> None:
        self.dir = tempfile.mkdtemp(prefix="cadang-oracle-")  # mode 0700
        name = f"cadang-{secrets.token_hex(6)}-{stream_name(config)}"
        self.pipe = os.path.join(config.pipe_dir or self.dir, name) if pipe else ""
        self.parfile = os.path.join(self.dir, "cadang.par")
        try:
            fd = os.open(self.parfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(f"userid={userid(config.connect, password)}\n")
            if pipe:
                os.mkfifo(self.pipe, 0o600)
        except OSError as exc:
            self.remove()
            raise SourceError(
                _("cannot make the named pipe {path}: {reason}").format(
                    path=self.pipe or self.parfile, reason=exc.strerror or exc
                ),
                hint=_("check pipe_dir in the plan"),
            ) from None

    def remove(self) -> None:
        if self.pipe:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.pipe)
        shutil.rmtree(self.dir, ignore_errors=True)


class _Export:
    def __init__(self, source: OracleSourceImpl) -> None:
        self.source = source
        self.facts: dict[str, object] = {
            "schemas": list(source.config.schemas),
            "tool": source.config.tool,
        }
        self._folder: _PipeFolder | None = None
        self._cmd: BackgroundCommand | None = None
        self._pipe: BinaryIO | None = None

    def open(self) -> BinaryIO:
        cfg = self.source.config
        password = self.source.password()
        template = export_template(cfg)
        through_pipe = uses_file(template)
        folder = self._folder = _PipeFolder(cfg, password, through_pipe)
        fields = template_fields(cfg, password, pipe=folder.pipe, parfile=folder.parfile)
        argv = expand(template, fields)
        if not through_pipe:  # its standard output is the dump
            stdout = StreamingCommand(argv, secrets=_secrets(password))
            self._cmd = stdout
            return stdout.start()
        self._cmd = BackgroundCommand(
            argv, secrets=_secrets(password), note=_("no snapshot was written")
        )
        self._cmd.start()
        self._pipe = open_fifo_for_reading(folder.pipe, self._cmd)
        return self._pipe

    def complete(self) -> None:
        assert self._cmd is not None
        self._cmd.finish()

    def close(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
        if self._cmd is not None:
            self._cmd.close()
        if self._folder is not None:
            self._folder.remove()


def _secrets(password: str | None) -> list[str]:
    return [password] if password else []


class OracleSourceImpl:
    kind = "oracle"

    def __init__(self, config: OracleSource) -> None:
        self.config = config
        self.name = config.name

    def password(self) -> str | None:
        return read_secret(self.config.password_file, self.config.password_env)

    def _tools(self) -> list[str]:
        cfg = self.config
        commands = [export_template(cfg)[0], import_template(cfg, False)[0]]
        commands.append(import_template(cfg, True)[0])
        return list(dict.fromkeys(commands))

    def required_tools(self) -> list[RequiredTool]:
        # PACKAGE, translated where it is shown: it names no Debian package.
        return [RequiredTool(c, _("Oracle Instant Client (not in Debian)")) for c in self._tools()]

    def probe(self) -> str:
        missing = [c for c in self._tools() if which(c) is None]
        if missing:
            raise UsageError(
                _("command not found: {command}").format(command=", ".join(missing)),
                hint=_("install the Oracle client tools and put them on PATH"),
            )
        return _("{commands} found; the connection itself is not checked").format(
            commands=", ".join(self._tools())
        )

    def describe(self) -> list[str]:
        template = export_template(self.config)
        shown = shown_command(
            expand(template, template_fields(self.config, None, pipe="PIPE", parfile="PARFILE"))
        )
        return [
            _("run {command} -> {stream} (through a named pipe)").format(
                command=shown, stream=stream_name(self.config)
            )
        ]

    def backup_spec(self) -> BackupSpec:
        export = _Export(self)
        return BackupSpec(
            streams=[
                Stream(
                    stream_name(self.config),
                    export.open,
                    export.complete,
                    export.close,
                    export.facts,
                )
            ]
        )

    def restore(self, reader: StreamReader, target: RestoreTarget) -> RestoreOutcome:
        cfg = self.config
        names = reader.names()
        name = stream_name(cfg)
        if name not in names:
            dumps = [n for n in names if n.endswith(SUFFIX)]
            if len(dumps) != 1:
                raise UsageError(_("this snapshot holds no Oracle export (*.dmp)"))
            name = dumps[0]
        mapping = restore_names(list(cfg.schemas), target)
        if not target.in_place:
            check_new_names(mapping)
        password = self.password()
        template = import_template(cfg, target.in_place)
        try:
            with reader.open(name) as stream:
                self._import(stream, template, password, mapping)
        except CadangError as exc:
            raise RestoreError(
                _("importing {stream} failed: {reason}").format(stream=name, reason=exc.message)
                + "\n"
                + _("the import tool's own log above tells how far it got"),
                hint=exc.hint,
            ) from exc
        new = list(mapping.values())
        return RestoreOutcome(
            restored=new,
            details=[
                _("{schema} restored into {name}").format(schema=s, name=n)
                for s, n in mapping.items()
            ],
        )

    def _import(
        self,
        stream: BinaryIO,
        template: list[str],
        password: str | None,
        mapping: dict[str, str],
    ) -> None:
        through_pipe = uses_file(template)
        folder = _PipeFolder(self.config, password, through_pipe)
        fields = template_fields(
            self.config, password, pipe=folder.pipe, parfile=folder.parfile, mapping=mapping
        )
        argv = expand(template, fields)
        if not through_pipe:  # it takes the dump on standard input
            try:
                FeedingCommand(argv, secrets=_secrets(password)).feed(stream)
            finally:
                folder.remove()
            return
        cmd = BackgroundCommand(argv, secrets=_secrets(password), note="")
        try:
            cmd.start()
            pipe = open_fifo_for_writing(folder.pipe, cmd)
            try:
                while True:
                    try:
                        data = stream.read(_COPY)
                    except BaseException:
                        cmd.kill()  # never let the tool take a cut-off dump for a whole one
                        raise
                    if not data:
                        break
                    pipe.write(data)
            except BrokenPipeError:
                pass  # the tool stopped reading; its exit code says why
            finally:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()
            cmd.finish()
        finally:
            cmd.close()
            folder.remove()
