"""cadang find: look for files by name in every snapshot (or the ones given)."""

from __future__ import annotations

from typing import Any

import click

from cadang.cli.common import pop_repo_options, repo_options, repository
from cadang.cli.listing import JsonArray, node_json, show_path, show_time
from cadang.i18n import _
from cadang.repo.finder import find
from cadang.repo.snapshot import Snapshot, find_snapshot, load_all
from cadang.repo.tree import NodeType


@click.command(
    "find",
    help=_(
        "Find entries whose name matches the glob PATTERN, in every snapshot.\n\n"
        "A PATTERN with a '/' is matched against the whole path, like find -path: "
        "'/srv/*.sql' from the root, 'db/*.sql' at any depth. Quote the pattern so the "
        "shell leaves it alone."
    ),
)
@repo_options
@click.argument("pattern")
@click.option(
    "--snapshot",
    "-s",
    "snapshot_refs",
    multiple=True,
    metavar="SNAPSHOT",
    help=_("Search only this snapshot (repeatable; 'latest', an id prefix or a label)."),
)
@click.option("--ignore-case", "-i", is_flag=True, help=_("Match upper and lower case alike."))
@click.option("--json", "as_json", is_flag=True, help=_("Print JSON."))
def command(
    pattern: str, snapshot_refs: tuple[str, ...], ignore_case: bool, as_json: bool, **kw: Any
) -> None:
    opts = pop_repo_options(kw)
    with repository(opts) as repo:
        snaps = load_all(repo, errors=[])
        chosen: list[Snapshot] = []
        if snapshot_refs:
            seen: set[str] = set()
            for ref in snapshot_refs:
                snap = find_snapshot(repo, ref, snaps)
                if snap.id not in seen:
                    seen.add(snap.id)
                    chosen.append(snap)
        else:
            chosen = snaps
        matches = find(repo, chosen, pattern, ignore_case)
        if as_json:
            with JsonArray() as out:
                for m in matches:
                    out.add(
                        {
                            "snapshot": m.snapshot.id,
                            "short_id": m.snapshot.short_id,
                            "snapshot_time": m.snapshot.time.isoformat(),
                            **node_json(m.path, m.node),
                        }
                    )
            return
        count = 0
        hit: set[str] = set()
        for m in matches:
            count += 1
            hit.add(m.snapshot.id)
            size = str(m.node.size) if m.node.type is NodeType.FILE else ""
            click.echo(
                f"{m.snapshot.short_id:<10} {show_time(m.node)} {size:>12} {show_path(m.path, m.node)}"
            )
        click.echo(
            _("{n} match(es) in {hit} of {total} snapshot(s) searched").format(
                n=count, hit=len(hit), total=len(chosen)
            )
        )
