"""cadang unlock: remove stale locks left by crashed or killed operations."""

from __future__ import annotations

from typing import Any

import click

from cadang.cli.common import pop_repo_options, print_json, repo_options, repository
from cadang.i18n import _
from cadang.repo.locks import LockInfo, unlock


def _describe(info: LockInfo | str) -> str:
    if isinstance(info, str):
        return _("unreadable lock file {id}").format(id=info[:8])
    return info.describe()


def _as_json(info: LockInfo | str) -> dict[str, object]:
    if isinstance(info, str):
        return {"id": info, "unreadable": True}
    return {
        "id": info.id,
        "hostname": info.hostname,
        "pid": info.pid,
        "username": info.username,
        "exclusive": info.exclusive,
        "time": info.time,
    }


@click.command(
    "unlock",
    help=_(
        "Remove stale locks: not refreshed for 30 minutes, or of a dead process on this "
        "host.\n\n"
        "A fresh lock of another host is kept: that operation may still be running."
    ),
)
@repo_options
@click.option(
    "--remove-all",
    is_flag=True,
    help=_("Remove every lock, also fresh ones of operations that may still be running."),
)
@click.option("--json", "as_json", is_flag=True, help=_("Print JSON."))
def command(remove_all: bool, as_json: bool, **kw: Any) -> None:
    opts = pop_repo_options(kw)
    if remove_all:
        click.echo(
            _(
                "warning: removing every lock; if a backup or prune is still running, "
                "another operation may now interfere with it"
            ),
            err=True,
        )
    with repository(opts, lock=None, load_index=False) as repo:
        result = unlock(repo, remove_all=remove_all)
    if as_json:
        print_json(
            {
                "removed": [_as_json(i) for i in result.removed],
                "kept": [_as_json(i) for i in result.kept],
            }
        )
        return
    for info in result.removed:
        click.echo(_("removed {lock}").format(lock=_describe(info)))
    for info in result.kept:
        click.echo(_("kept {lock} (it is not stale)").format(lock=_describe(info)))
    click.echo(
        _("{removed} lock(s) removed, {kept} kept").format(
            removed=len(result.removed), kept=len(result.kept)
        )
    )
    if result.kept:
        click.echo(
            _(
                "a kept lock belongs to an operation that may still be running; if you are "
                "sure it is not, 'cadang unlock --remove-all' removes it"
            ),
            err=True,
        )
