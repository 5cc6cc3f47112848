"""cadang restore: write a snapshot (or parts of it) into a directory."""

from __future__ import annotations

from typing import Any

import click

from cadang.cli.common import (
    pop_repo_options,
    print_json,
    repo_options,
    repository,
    show_bytes,
    warn_index_errors,
)
from cadang.cli.progress import TerminalProgress
from cadang.errors import RestoreError
from cadang.i18n import _
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import find_snapshot


@click.command(
    "restore", help=_("Restore SNAPSHOT ('latest', an id prefix or a label) into --target.")
)
@repo_options
@click.argument("snapshot")
@click.option("--target", "-t", required=True, metavar="DIR", help=_("Directory to restore into."))
@click.option(
    "--include",
    "-i",
    "includes",
    multiple=True,
    metavar="PATH",
    help=_("Restore only this path (repeatable)."),
)
@click.option("--json", "as_json", is_flag=True, help=_("Print the summary as JSON."))
@click.option("--quiet", "-q", is_flag=True, help=_("No progress and no summary."))
def command(
    snapshot: str, target: str, includes: tuple[str, ...], as_json: bool, quiet: bool, **kw: Any
) -> None:
    opts = pop_repo_options(kw)
    with repository(opts) as repo:
        warn_index_errors(repo)
        snap = find_snapshot(repo, snapshot)
        with TerminalProgress(
            _("restore"), enabled=None if not (quiet or as_json) else False
        ) as progress:
            summary = Restorer(repo, progress.reporter()).restore(snap, target, list(includes))
    if not progress.enabled:  # a drawn progress display named them as they happened
        for path, message in summary.errors:
            click.echo(_("error: {path}: {message}").format(path=path, message=message), err=True)
    if as_json:
        print_json(
            {
                "snapshot": snap.id,
                "files": summary.files,
                "dirs": summary.dirs,
                "others": summary.others,
                "bytes": summary.bytes,
                "duration": summary.duration,
                "errors": [{"path": p, "message": m} for p, m in summary.errors],
                "warnings": summary.warnings,
            }
        )
    elif not quiet:
        for w in summary.warnings:
            click.echo(_("warning: {message}").format(message=w), err=True)
        click.echo(
            _(
                "restored snapshot {id}: {files} files, {dirs} directories, {size} in {seconds:.1f}s"
            ).format(
                id=snap.short_id,
                files=summary.files,
                dirs=summary.dirs,
                size=show_bytes(summary.bytes),
                seconds=summary.duration,
            )
        )
    if summary.errors:
        raise RestoreError(
            _("{n} path(s) could not be restored; the rest was restored").format(
                n=len(summary.errors)
            )
        )
