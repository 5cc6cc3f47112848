"""Reading trees: load one, walk a snapshot, find a path."""

from __future__ import annotations

from collections.abc import Iterator

from cadang.errors import PathNotFoundError
from cadang.i18n import _
from cadang.repo.pack import BlobType
from cadang.repo.repository import Repository
from cadang.repo.tree import Node, NodeType, decode_tree, encode_tree


def load_tree(repo: Repository, tree_id: bytes) -> list[Node]:
    return decode_tree(repo.load_blob(tree_id), _("tree {id}").format(id=tree_id.hex()[:16]))


def save_tree(repo: Repository, nodes: list[Node]) -> bytes:
    tree_id, _new = repo.save_blob(BlobType.TREE, encode_tree(nodes))
    return tree_id


def walk(repo: Repository, tree_id: bytes, prefix: bytes = b"") -> Iterator[tuple[bytes, Node]]:
    """Yield (path, node) depth-first, parents before children; paths start with '/'."""
    for node in load_tree(repo, tree_id):
        path = prefix + b"/" + node.name
        yield path, node
        if node.type is NodeType.DIR and node.subtree is not None:
            yield from walk(repo, node.subtree, path)


def split_path(path: str | bytes) -> list[bytes]:
    raw = path if isinstance(path, bytes) else path.encode("utf-8", "surrogateescape")
    return [p for p in raw.split(b"/") if p and p != b"."]


def find_node(repo: Repository, tree_id: bytes, path: str | bytes) -> Node | None:
    """The node at ``path`` in the tree; None for the root itself."""
    parts = split_path(path)
    current: bytes | None = tree_id
    node: Node | None = None
    for i, part in enumerate(parts):
        if current is None:
            raise PathNotFoundError(
                _("{path!r}: {parent} is not a directory").format(
                    path=path, parent=b"/".join(parts[:i]).decode(errors="replace")
                )
            )
        found = next((n for n in load_tree(repo, current) if n.name == part), None)
        if found is None:
            shown = path if isinstance(path, str) else path.decode("utf-8", "replace")
            raise PathNotFoundError(_("{path} is not in the snapshot").format(path=shown))
        node = found
        current = found.subtree if found.type is NodeType.DIR else None
    return node
