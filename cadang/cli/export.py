"""cadang export: a snapshot as a plain tar archive, readable without Cadang."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import click

from cadang.cli.common import pop_repo_options, repo_options, repository, show_bytes
from cadang.cli.dump import binary_stdout, refuse_terminal
from cadang.cli.listing import resolve_path
from cadang.cli.progress import TerminalProgress
from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo.exporter import ExportSummary, export_tar
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot, find_snapshot


def export_to_file(
    repo: Repository,
    snap: Snapshot,
    target: str,
    includes: list[bytes],
    progress: TerminalProgress,
) -> ExportSummary:
    """Write beside the target under a temporary name, then rename: no half-written tar."""
    target = os.path.abspath(target)
    directory = os.path.dirname(target)
    if os.path.isdir(target):
        raise UsageError(
            _("{path} is a directory").format(path=target), hint=_("give a file name for the tar")
        )
    if not os.path.isdir(directory):
        raise UsageError(_("the directory {path} does not exist").format(path=directory))
    tmp = os.path.join(directory, f".{os.path.basename(target)}.cadang-{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            summary = export_tar(repo, snap, f, includes, progress)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(
            _("cannot write {path}: {reason}").format(path=target, reason=exc.strerror or exc)
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return summary


@click.command(
    "export",
    help=_(
        "Write SNAPSHOT as a POSIX (PAX) tar archive that any tar can extract.\n\n"
        "Contents, directories, symbolic and hard links, FIFOs, device nodes, mode, "
        "owner, mtime to the nanosecond and extended attributes (extract with 'tar "
        "--xattrs') are kept."
    ),
)
@repo_options
@click.argument("snapshot")
@click.option(
    "--tar",
    "tar_path",
    required=True,
    metavar="FILE",
    help=_("Write the tar archive to FILE ('-' for standard output)."),
)
@click.option(
    "--include",
    "-i",
    "includes",
    multiple=True,
    metavar="PATH",
    help=_("Export only this path (repeatable); its parent directories come along."),
)
@click.option("--quiet", "-q", is_flag=True, help=_("No progress and no summary."))
def command(
    snapshot: str, tar_path: str, includes: tuple[str, ...], quiet: bool, **kw: Any
) -> None:
    opts = pop_repo_options(kw)
    with repository(opts) as repo:
        snap = find_snapshot(repo, snapshot)
        raw_includes = [resolve_path(repo, snap, inc)[0] for inc in includes]
        with TerminalProgress(_("export"), enabled=False if quiet else None) as progress:
            if tar_path == "-":
                with binary_stdout() as out:
                    refuse_terminal(out)
                    summary = export_tar(repo, snap, out, raw_includes, progress)
            else:
                summary = export_to_file(repo, snap, tar_path, raw_includes, progress)
    for w in summary.warnings:
        click.echo(_("warning: {message}").format(message=w), err=True)
    if not quiet:
        click.echo(
            _(
                "exported snapshot {id}: {files} files ({size}), {links} hard links, "
                "{dirs} directories, {others} other entries"
            ).format(
                id=snap.short_id,
                files=summary.files,
                size=show_bytes(summary.bytes),
                links=summary.hardlinks,
                dirs=summary.dirs,
                others=summary.others,
            ),
            err=True,
        )
