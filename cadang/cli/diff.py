"""cadang diff: what changed between two snapshots."""

from __future__ import annotations

import json
from typing import Any

import click

from cadang.cli.common import fs_path, pop_repo_options, repo_options, repository, show_bytes
from cadang.cli.listing import JsonArray
from cadang.i18n import _
from cadang.repo.differ import DiffEntry, Differ, DiffStats
from cadang.repo.snapshot import find_snapshot, load_all
from cadang.repo.tree import NodeType


def _shown(entry: DiffEntry) -> str:
    path = fs_path(entry.path)
    return path + "/" if entry.node.type is NodeType.DIR else path


def _entry_json(entry: DiffEntry) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "change": str(entry.change),
        "path": fs_path(entry.path),
        "type": str(entry.node.type),
    }
    if entry.old is not None and entry.new is not None and entry.old.type is not entry.new.type:
        obj["old_type"] = str(entry.old.type)
    if entry.old is not None and entry.old.type is NodeType.FILE:
        obj["old_size"] = entry.old.size
    if entry.new is not None and entry.new.type is NodeType.FILE:
        obj["new_size"] = entry.new.size
    return obj


def print_stats(s: DiffStats) -> None:
    click.echo(
        _("Files:        {added} new, {removed} removed, {changed} changed").format(
            added=s.files_added, removed=s.files_removed, changed=s.files_changed
        )
    )
    click.echo(
        _("Dirs:         {added} new, {removed} removed, {changed} changed").format(
            added=s.dirs_added, removed=s.dirs_removed, changed=s.dirs_changed
        )
    )
    click.echo(
        _("Others:       {added} new, {removed} removed, {changed} changed").format(
            added=s.others_added, removed=s.others_removed, changed=s.others_changed
        )
    )
    click.echo(
        _("Type changed: {n}; metadata only: {m}").format(n=s.type_changed, m=s.metadata_only)
    )
    click.echo(
        _("Data blobs:   {added} new, {removed} removed").format(
            added=s.blobs_added, removed=s.blobs_removed
        )
    )
    click.echo(_("Added:        {size}").format(size=show_bytes(s.bytes_added)))
    click.echo(_("Removed:      {size}").format(size=show_bytes(s.bytes_removed)))


@click.command(
    "diff",
    help=_(
        "Show what changed from SNAPSHOT1 to SNAPSHOT2.\n\n"
        "+ added, - removed, M contents changed, T type changed, U metadata only (mode, "
        "owner, mtime, extended attributes). Directories the two snapshots share "
        "unchanged are not read."
    ),
)
@repo_options
@click.argument("snapshot1")
@click.argument("snapshot2")
@click.option("--json", "as_json", is_flag=True, help=_("Print JSON."))
def command(snapshot1: str, snapshot2: str, as_json: bool, **kw: Any) -> None:
    opts = pop_repo_options(kw)
    with repository(opts) as repo:
        snaps = load_all(repo, errors=[])
        old = find_snapshot(repo, snapshot1, snaps)
        new = find_snapshot(repo, snapshot2, snaps)
        differ = Differ(repo)
        if as_json:
            meta = {"snapshot1": old.id, "snapshot2": new.id}
            with JsonArray.inside(meta, "changes") as out:
                for entry in differ.diff(old.tree, new.tree):
                    out.add(_entry_json(entry))
                out.tail = '], "stats": ' + json.dumps(differ.stats.as_dict()) + "}"
            return
        click.echo(
            _("comparing snapshot {old} to snapshot {new}:").format(
                old=old.short_id, new=new.short_id
            )
        )
        click.echo()
        for entry in differ.diff(old.tree, new.tree):
            click.echo(f"{entry.change!s:<4} {_shown(entry)}")
        click.echo()
        print_stats(differ.stats)
