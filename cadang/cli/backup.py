"""cadang backup: a snapshot of files, directories or standard input."""

from __future__ import annotations

import sys
from typing import Any

import click

from cadang.cli.common import (
    RepoOptions,
    pop_repo_options,
    print_json,
    repo_options,
    repository,
    show_bytes,
    warn_index_errors,
)
from cadang.cli.progress import TerminalProgress
from cadang.errors import PartialBackupError, UsageError
from cadang.i18n import _
from cadang.repo.archiver import Archiver, BackupOptions, BackupSummary
from cadang.repo.snapshot import Snapshot
from cadang.sources.process import StreamingCommand


@click.command(
    "backup",
    help=_(
        "Back up PATHS (or '-' for standard input) into a new snapshot.\n\n"
        "Exit code 3 means the snapshot was written but some files could not be read."
    ),
)
@repo_options
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--tag", "tags", multiple=True, metavar="TAG", help=_("Tag the snapshot (repeatable).")
)
@click.option("--label", default="", metavar="NAME", help=_("A name for the snapshot."))
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="GLOB",
    help=_("Leave out matching paths (repeatable)."),
)
@click.option(
    "--one-file-system", "-x", is_flag=True, help=_("Do not cross into other filesystems.")
)
@click.option(
    "--stdin-name", default="stdin", metavar="NAME", help=_("File name for '-' (standard input).")
)
@click.option(
    "--stdin-from-command",
    is_flag=True,
    help=_(
        "PATHS are a command and its arguments (after --); back up its output, and write no "
        "snapshot if it fails (safer than a pipe, whose failure cadang cannot see)."
    ),
)
@click.option(
    "--host",
    default=None,
    metavar="NAME",
    help=_("Record this host name instead of this machine's."),
)
@click.option(
    "--parent",
    default=None,
    metavar="SNAPSHOT",
    help=_("Compare against this snapshot instead of the latest."),
)
@click.option(
    "--force", is_flag=True, help=_("Read every file again, ignoring the parent snapshot.")
)
@click.option("--json", "as_json", is_flag=True, help=_("Print the summary as JSON."))
@click.option("--quiet", "-q", is_flag=True, help=_("No progress and no summary."))
def command(
    paths: tuple[str, ...],
    tags: tuple[str, ...],
    label: str,
    excludes: tuple[str, ...],
    one_file_system: bool,
    stdin_name: str,
    stdin_from_command: bool,
    host: str | None,
    parent: str | None,
    force: bool,
    as_json: bool,
    quiet: bool,
    **kw: Any,
) -> None:
    opts = pop_repo_options(kw)
    if not paths:
        raise UsageError(_("nothing to back up: give at least one path, or '-' for standard input"))
    if stdin_from_command:
        with StreamingCommand(paths) as dump:
            options = _options(
                ("-",), excludes, one_file_system, tags, label, stdin_name, parent, force, host
            )
            options.stdin = dump.start()
            options.stdin_complete = dump.finish
            _run(opts, options, quiet, as_json)
        return
    options = _options(
        paths, excludes, one_file_system, tags, label, stdin_name, parent, force, host
    )
    _run(opts, options, quiet, as_json)


def _options(
    paths: tuple[str, ...],
    excludes: tuple[str, ...],
    one_file_system: bool,
    tags: tuple[str, ...],
    label: str,
    stdin_name: str,
    parent: str | None,
    force: bool,
    host: str | None,
) -> BackupOptions:
    use_stdin = paths == ("-",)
    if "-" in paths and not use_stdin:
        raise UsageError(_("'-' (standard input) cannot be mixed with other paths"))
    options = BackupOptions(
        paths=[] if use_stdin else list(paths),
        excludes=list(excludes),
        one_file_system=one_file_system,
        tags=list(tags),
        label=label,
        stdin=sys.stdin.buffer if use_stdin else None,
        stdin_name=stdin_name,
        parent=parent,
        use_parent=not force,
    )
    if host:
        options.hostname = host
    return options


def _run(opts: RepoOptions, options: BackupOptions, quiet: bool, as_json: bool) -> None:
    with (
        repository(opts) as repo,
        TerminalProgress(
            _("backup"), enabled=None if not (quiet or as_json) else False
        ) as progress,
    ):
        warn_index_errors(repo)
        snap, summary = Archiver(repo, progress.reporter()).backup(options)
    if not progress.enabled:  # a drawn progress display named them as they happened
        for path, message in summary.errors:
            click.echo(_("error: {path}: {message}").format(path=path, message=message), err=True)
    if as_json:
        print_json({"snapshot": snap.id, "label": snap.label, **summary.as_dict()})
    elif not quiet:
        print_summary(snap, summary)
    if summary.errors:
        raise PartialBackupError(
            _("snapshot {id} was written, but {n} file(s) could not be read").format(
                id=snap.short_id, n=len(summary.errors)
            )
        )


def print_summary(snap: Snapshot, s: BackupSummary) -> None:
    click.echo(
        _("Files:       {new} new, {changed} changed, {unchanged} unchanged").format(
            new=s.files_new, changed=s.files_changed, unchanged=s.files_unchanged
        )
    )
    click.echo(
        _("Directories: {new} new, {changed} changed, {unchanged} unchanged").format(
            new=s.dirs_new, changed=s.dirs_changed, unchanged=s.dirs_unchanged
        )
    )
    click.echo(
        _("Processed {files} files, {size} in {seconds:.1f}s").format(
            files=s.total_files, size=show_bytes(s.total_bytes), seconds=s.duration
        )
    )
    click.echo(
        _("Added to the repository: {size} (after deduplication and compression)").format(
            size=show_bytes(s.data_added)
        )
    )
    click.echo(_("snapshot {id} saved").format(id=snap.short_id))
