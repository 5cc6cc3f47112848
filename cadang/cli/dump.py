"""cadang dump: one file of a snapshot to standard output (a directory as a tar)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

import click

from cadang.cli.common import pop_repo_options, repo_options, repository
from cadang.cli.listing import resolve_path
from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo.exporter import ExportSummary, dump
from cadang.repo.snapshot import find_snapshot
from cadang.repo.tree import NodeType


@contextlib.contextmanager
def binary_stdout() -> Iterator[BinaryIO]:
    """sys.stdout's bytes; a reader that goes away (``| head``) ends the command quietly."""
    out = sys.stdout.buffer
    try:
        yield out
        out.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's last flush does not complain.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise


def refuse_terminal(out: BinaryIO) -> None:
    with contextlib.suppress(AttributeError, ValueError):
        if out.isatty():
            raise UsageError(
                _("refusing to write a tar archive to a terminal"),
                hint=_("redirect the output to a file or a pipe"),
            )


@click.command(
    "dump",
    help=_(
        "Write the file PATH of SNAPSHOT to standard output, byte for byte.\n\n"
        "If PATH is a directory, it is written as a tar archive (like restic dump); '/' "
        "writes the whole snapshot."
    ),
)
@repo_options
@click.argument("snapshot")
@click.argument("path")
def command(snapshot: str, path: str, **kw: Any) -> None:
    opts = pop_repo_options(kw)
    with repository(opts) as repo:
        snap = find_snapshot(repo, snapshot)
        raw, node = resolve_path(repo, snap, path)
        with binary_stdout() as out:
            if node is None or node.type is NodeType.DIR:
                refuse_terminal(out)
            result = dump(repo, snap, raw, out, node)
    if isinstance(result, ExportSummary):
        for w in result.warnings:
            click.echo(_("warning: {message}").format(message=w), err=True)
