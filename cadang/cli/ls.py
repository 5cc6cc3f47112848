"""cadang ls: list what a snapshot holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from cadang.cli.common import fs_path, pop_repo_options, repo_options, repository
from cadang.cli.listing import JsonArray, mode_string, node_json, owner, resolve_path, show_path
from cadang.cli.listing import show_time as node_time
from cadang.i18n import _
from cadang.repo.repository import Repository
from cadang.repo.snapshot import find_snapshot
from cadang.repo.tree import Node, NodeType
from cadang.repo.walker import load_tree, walk


def entries(
    repo: Repository, tree: bytes, base: bytes, node: Node | None, recursive: bool
) -> Iterator[tuple[bytes, Node]]:
    """What lies under ``base`` (its contents if a directory, else the entry itself)."""
    if node is not None and node.type is not NodeType.DIR:
        yield base, node
        return
    subtree = tree if node is None else node.subtree
    if subtree is None:
        return
    prefix = b"" if base == b"/" else base
    if recursive:
        yield from walk(repo, subtree, prefix)
    else:
        for child in load_tree(repo, subtree):
            yield prefix + b"/" + child.name, child


@click.command(
    "ls",
    help=_(
        "List the entries of SNAPSHOT ('latest', an id prefix or a label) under PATH.\n\n"
        "Names that are not valid UTF-8 are shown with \\xNN escapes; PATH may be typed "
        "in that form too."
    ),
)
@repo_options
@click.argument("snapshot")
@click.argument("path", required=False, default="/")
@click.option(
    "--long", "-l", "long_format", is_flag=True, help=_("Show mode, owner, size and mtime.")
)
@click.option(
    "--recursive/--no-recursive",
    default=True,
    help=_("List everything below PATH (the default), or only its direct entries."),
)
@click.option("--json", "as_json", is_flag=True, help=_("Print JSON."))
def command(
    snapshot: str, path: str, long_format: bool, recursive: bool, as_json: bool, **kw: Any
) -> None:
    opts = pop_repo_options(kw)
    with repository(opts) as repo:
        snap = find_snapshot(repo, snapshot)
        base, node = resolve_path(repo, snap, path)
        found = entries(repo, snap.tree, base, node, recursive)
        if as_json:
            meta = {"snapshot": snap.id, "path": fs_path(base)}
            with JsonArray.inside(meta, "nodes") as out:
                for p, n in found:
                    out.add(node_json(p, n))
            return
        for p, n in found:
            if long_format:
                size = str(n.size) if n.type is NodeType.FILE else ""
                click.echo(
                    f"{mode_string(n)} {owner(n):<17} {size:>12} {node_time(n)} {show_path(p, n)}"
                )
            else:
                click.echo(show_path(p, n) if n.type is NodeType.DIR else fs_path(p))
