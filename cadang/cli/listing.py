"""Showing snapshot entries: what ls, find, diff, dump and export share."""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
from typing import Any

import click

from cadang.cli.common import fs_path
from cadang.errors import PathNotFoundError
from cadang.repo.exporter import lookup_path
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.tree import Node, NodeType

_TYPE_BITS = {
    NodeType.FILE: stat.S_IFREG,
    NodeType.DIR: stat.S_IFDIR,
    NodeType.SYMLINK: stat.S_IFLNK,
    NodeType.FIFO: stat.S_IFIFO,
    NodeType.CHARDEV: stat.S_IFCHR,
    NodeType.BLOCKDEV: stat.S_IFBLK,
    NodeType.SOCKET: stat.S_IFSOCK,
}

_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")


def mode_string(node: Node) -> str:
    """``drwxr-xr-x``, as ls -l shows it."""
    return stat.filemode(_TYPE_BITS[node.type] | (node.mode & 0o7777))


def mtime(node: Node) -> dt.datetime:
    return dt.datetime.fromtimestamp(node.mtime_ns / 1e9).astimezone()


def show_time(node: Node) -> str:
    return mtime(node).strftime("%Y-%m-%d %H:%M:%S")


def owner(node: Node) -> str:
    return f"{node.user or node.uid}/{node.group or node.gid}"


def show_path(path: bytes, node: Node) -> str:
    """The path as a listing shows it: directories end in '/', links show their target."""
    shown = fs_path(path)
    if node.type is NodeType.DIR:
        return shown + "/"
    if node.type is NodeType.SYMLINK:
        return f"{shown} -> {fs_path(node.target)}"
    return shown


def node_json(path: bytes, node: Node) -> dict[str, Any]:
    """A JSON object for one entry; paths use the same escaped form as the text output."""
    obj: dict[str, Any] = {
        "path": fs_path(path),
        "name": fs_path(node.name),
        "type": str(node.type),
        "mode": node.mode & 0o7777,
        "permissions": mode_string(node),
        "uid": node.uid,
        "gid": node.gid,
        "user": node.user,
        "group": node.group,
        "size": node.size if node.type is NodeType.FILE else 0,
        "mtime": mtime(node).isoformat(),
        "mtime_ns": node.mtime_ns,
        "links": node.links,
        "inode": node.inode,
    }
    if node.type is NodeType.SYMLINK:
        obj["target"] = fs_path(node.target)
    if node.type in (NodeType.CHARDEV, NodeType.BLOCKDEV):
        obj["rdev"] = node.rdev
    if node.xattrs:
        obj["xattrs"] = [fs_path(k) for k, _ in node.xattrs]
    return obj


def path_arg(arg: str) -> list[bytes]:
    """A path typed by the user, as raw bytes; also with ls's ``\\xNN`` escapes undone.

    Arguments that are not UTF-8 arrive surrogate-escaped and go back to their bytes; a
    name shown as ``caf\\xe9`` can also be typed that way.
    """
    raw = arg.encode("utf-8", "surrogateescape")
    candidates = [raw]
    unescaped = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    if unescaped != raw:
        candidates.append(unescaped)
    return candidates


def resolve_path(repo: Repository, snap: Snapshot, arg: str) -> tuple[bytes, Node | None]:
    """(normalised path starting with '/', its node or None for the root)."""
    first: PathNotFoundError | None = None
    for raw in path_arg(arg):
        parts = [p for p in raw.split(b"/") if p and p != b"."]
        path = b"/" + b"/".join(parts)
        try:
            return path, lookup_path(repo, snap, path)
        except PathNotFoundError as exc:
            first = first or exc
    assert first is not None
    raise first


class JsonArray:
    """Print a JSON array one element at a time, so long listings are not held in memory."""

    def __init__(self, head: str = "[", tail: str = "]") -> None:
        self._head = head
        self.tail = tail
        self._first = True

    @classmethod
    def inside(cls, meta: dict[str, Any], key: str) -> JsonArray:
        """The array as member ``key`` of an object that also holds ``meta``."""
        head = json.dumps(meta, ensure_ascii=False, default=str)[:-1]
        head += (", " if meta else "") + json.dumps(key) + ": ["
        return cls(head, "]}")

    def __enter__(self) -> JsonArray:
        click.echo(self._head, nl=False)
        return self

    def add(self, obj: object) -> None:
        sep = "\n  " if self._first else ",\n  "
        self._first = False
        click.echo(sep + json.dumps(obj, ensure_ascii=False, default=str), nl=False)

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:  # on an error the output stays unfinished: it is not whole
            click.echo(("\n" if not self._first else "") + self.tail)
