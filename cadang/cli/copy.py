"""cadang copy: copy snapshots to a second repository, re-encrypted for it."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import click

from cadang.backends import open_backend
from cadang.cli.common import (
    ask_password,
    open_repo,
    pop_repo_options,
    print_json,
    read_password_file,
    repo_options,
    show_bytes,
)
from cadang.cli.progress import TerminalProgress
from cadang.errors import RepositoryNotFoundError
from cadang.i18n import _
from cadang.repo.copier import Copier, select_snapshots
from cadang.repo.locks import locked
from cadang.repo.repository import Repository


def _destination_password(to_password_file: str | None) -> str:
    if to_password_file:
        return read_password_file(to_password_file)
    env = os.environ.get("CADANG_TO_PASSWORD")
    if env is not None:
        return env
    return ask_password(_("Passphrase of the destination repository"), confirm=False)


def _open_destination(location: str, to_password_file: str | None) -> Repository:
    backend = open_backend(location)
    try:
        Repository.read_config(backend)
    except RepositoryNotFoundError:
        raise RepositoryNotFoundError(
            _("there is no repository at {location} to copy to").format(
                location=backend.location()
            ),
            hint=_(
                "create it first: 'cadang init --repo {location} --copy-chunker-params-from "
                "SOURCE' (copies are then faster and smaller)"
            ).format(location=location),
        ) from None
    return Repository.open(backend, _destination_password(to_password_file), load_index=False)


@click.command(
    "copy",
    help=_(
        "Copy snapshots (all, or the SNAPSHOTs named: 'latest', id prefixes, labels) "
        "from --repo to --to, skipping snapshots and data the destination already has."
    ),
)
@repo_options
@click.option(
    "--to",
    "to",
    required=True,
    metavar="DIR",
    help=_("The repository to copy into (e.g. the external disk)."),
)
@click.option(
    "--to-password-file",
    envvar="CADANG_TO_PASSWORD_FILE",
    type=click.Path(dir_okay=False),
    help=_(
        "Passphrase file of the destination (env CADANG_TO_PASSWORD_FILE, "
        "or CADANG_TO_PASSWORD for the passphrase itself)."
    ),
)
@click.argument("snapshots", nargs=-1, metavar="[SNAPSHOT]...")
@click.option("--json", "as_json", is_flag=True, help=_("Print JSON."))
@click.option("--quiet", "-q", is_flag=True, help=_("No progress and no summary."))
def command(
    to: str,
    to_password_file: str | None,
    snapshots: tuple[str, ...],
    as_json: bool,
    quiet: bool,
    **kw: Any,
) -> None:
    opts = pop_repo_options(kw)
    with contextlib.ExitStack() as stack:
        # Indexes are read only once the locks are held (see common.repository).
        src = open_repo(opts, load_index=False)
        stack.callback(src.close)
        dst = _open_destination(to, to_password_file)
        stack.callback(dst.close)
        stack.enter_context(locked(src, exclusive=False, wait=opts.retry_lock))
        stack.enter_context(locked(dst, exclusive=False, wait=opts.retry_lock))
        src.load_index()
        dst.load_index()
        chosen = select_snapshots(src, snapshots)
        progress = stack.enter_context(
            TerminalProgress(_("copy"), enabled=None if not (quiet or as_json) else False)
        )
        copier = Copier(src, dst, progress)
        results = copier.copy(chosen)
    blobs = sum(r.blobs_added for r in results)
    size = sum(r.bytes_added for r in results)
    copied = sum(1 for r in results if not r.skipped)
    if as_json:
        print_json(
            {
                "source": src.backend.location(),
                "destination": dst.backend.location(),
                "shared_ids": copier.shared_ids,
                "snapshots": [r.as_dict() for r in results],
                "copied": copied,
                "skipped": len(results) - copied,
                "blobs_added": blobs,
                "bytes_added": size,
            }
        )
        return
    if quiet:
        return
    for r in results:
        if r.skipped:
            click.echo(
                _("snapshot {id} skipped: already there as {copy}").format(
                    id=r.source.short_id, copy=r.copy_id[:8]
                )
            )
        else:
            click.echo(
                _("snapshot {id} copied as {copy}: {blobs} blobs, {size} added").format(
                    id=r.source.short_id,
                    copy=r.copy_id[:8],
                    blobs=r.blobs_added,
                    size=show_bytes(r.bytes_added),
                )
            )
    click.echo(
        _(
            "{copied} snapshot(s) copied, {skipped} skipped; {blobs} blobs, {size} added to {location}"
        ).format(
            copied=copied,
            skipped=len(results) - copied,
            blobs=blobs,
            size=show_bytes(size),
            location=dst.backend.location(),
        )
    )
