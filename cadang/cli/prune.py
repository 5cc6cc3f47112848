"""cadang prune: remove data that no snapshot uses any more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from cadang.cli.common import (
    RepoOptions,
    json_option,
    pop_repo_options,
    print_json,
    repo_options,
    repository,
    show_bytes,
)
from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo.pruner import DEFAULT_MAX_UNUSED, PruneResult, prune
from cadang.repo.repository import Repository


def parse_max_unused(text: str) -> float:
    """``5%``, ``5`` or ``unlimited``: the share of unused data allowed to stay."""
    s = text.strip().lower()
    if s == "unlimited":
        return 100.0
    try:
        value = float(s.removesuffix("%"))
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 100.0:
        raise UsageError(
            _("invalid --max-unused {value!r}").format(value=text),
            hint=_("give a percentage from 0% to 100%, or 'unlimited'"),
        )
    return value


def phase_printer(enabled: bool) -> Callable[[str], None]:
    messages = {
        "snapshots": _("loading snapshots"),
        "index": _("loading the index"),
        "trees": _("finding the data that snapshots use"),
        "plan": _("deciding which packs to keep, repack and delete"),
        "repack": _("repacking the used parts of partly used packs"),
        "write-index": _("writing the new index"),
        "delete-index": _("removing the old index files"),
        "delete": _("removing packs that are no longer needed"),
    }

    def show(name: str) -> None:
        if enabled:
            click.echo(messages.get(name, name), err=True)

    return show


def run_prune(
    repo: Repository,
    max_unused: float,
    dry_run: bool,
    quiet: bool,
    ignore_snapshots: frozenset[str] = frozenset(),
) -> PruneResult:
    return prune(repo, max_unused, dry_run, phase_printer(not quiet), ignore_snapshots)


def print_result(r: PruneResult) -> None:
    if r.dry_run:
        click.echo(_("dry run: nothing was changed; prune would:"))
    click.echo(
        _("snapshots: {snapshots}, blobs in use: {blobs}").format(
            snapshots=r.snapshots, blobs=r.used_blobs
        )
    )
    click.echo(
        _(
            "packs: {kept} kept, {repacked} repacked, {deleted} deleted "
            "({unindexed} of them listed in no index)"
        ).format(
            kept=r.packs_kept,
            repacked=r.packs_repacked,
            deleted=r.packs_deleted,
            unindexed=r.packs_unindexed,
        )
    )
    click.echo(_("blobs removed: {n}").format(n=r.blobs_removed))
    click.echo(
        _("space freed: {freed} of {total}; unused data left: {left}").format(
            freed=show_bytes(r.bytes_freed),
            total=show_bytes(r.bytes_before),
            left=show_bytes(r.unused_bytes_left),
        )
    )


def prune_command_body(opts: RepoOptions, max_unused: float, dry_run: bool, as_json: bool) -> None:
    # Prune deletes what no index lists; only an exclusive lock proves no backup is adding
    # packs. The pruner reads index and snapshots itself, after the lock is held.
    with repository(opts, lock="shared" if dry_run else "exclusive", load_index=False) as repo:
        result = run_prune(repo, max_unused, dry_run, quiet=as_json)
    if as_json:
        print_json(result.as_dict())
    else:
        print_result(result)


@click.command(
    "prune",
    help=_(
        "Remove data that no snapshot uses any more.\n\n"
        "Takes the exclusive lock: it refuses (exit 11) while a backup runs, or waits "
        "with --retry-lock. It refuses too when any snapshot cannot be read."
    ),
)
@repo_options
@click.option(
    "--dry-run", "-n", is_flag=True, help=_("Show what would be removed; change nothing.")
)
@click.option(
    "--max-unused",
    default=f"{DEFAULT_MAX_UNUSED:g}%",
    show_default=True,
    metavar="P%",
    help=_(
        "Leave partly used packs alone while their unused data is at most this share of "
        "the repository ('unlimited' never repacks, 0% repacks every partly used pack)."
    ),
)
@json_option
def command(dry_run: bool, max_unused: str, as_json: bool, **kw: Any) -> None:
    opts = pop_repo_options(kw)
    prune_command_body(opts, parse_max_unused(max_unused), dry_run, as_json)
