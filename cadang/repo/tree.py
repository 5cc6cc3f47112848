"""Trees: one blob per directory, listing its entries with their metadata.

A tree blob is ``msgpack({"nodes": [node, ...]})`` with nodes sorted by name. Names, link
targets and extended attributes are raw bytes, so names that are not valid UTF-8 survive.
Encoding is deterministic, so an unchanged directory produces the same blob and dedups.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import msgpack

from cadang.errors import IntegrityError
from cadang.i18n import _

TREE_VERSION = 1


class NodeType(enum.StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    FIFO = "fifo"
    CHARDEV = "chardev"
    BLOCKDEV = "blockdev"
    SOCKET = "socket"


_NODE_TYPES = {str(t): t for t in NodeType}


@dataclass(slots=True)
class Node:
    name: bytes
    type: NodeType
    mode: int = 0  # permission bits and set-id/sticky bits (st_mode & 0o7777)
    uid: int = 0
    gid: int = 0
    user: str = ""
    group: str = ""
    mtime_ns: int = 0
    ctime_ns: int = 0
    size: int = 0
    inode: int = 0
    device: int = 0  # st_dev, to tell hard links apart across filesystems
    links: int = 1
    rdev: int = 0
    target: bytes = b""
    xattrs: list[tuple[bytes, bytes]] = field(default_factory=list)
    content: list[bytes] = field(default_factory=list)
    subtree: bytes | None = None

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "name": self.name,
            "type": str(self.type),
            "mode": self.mode,
            "uid": self.uid,
            "gid": self.gid,
            "user": self.user,
            "group": self.group,
            "mtime_ns": self.mtime_ns,
            "ctime_ns": self.ctime_ns,
            "inode": self.inode,
            "device": self.device,
            "links": self.links,
        }
        if self.type is NodeType.FILE:
            obj["size"] = self.size
            obj["content"] = self.content
        elif self.type is NodeType.DIR:
            obj["subtree"] = self.subtree
        elif self.type is NodeType.SYMLINK:
            obj["target"] = self.target
        elif self.type in (NodeType.CHARDEV, NodeType.BLOCKDEV):
            obj["rdev"] = self.rdev
        if self.xattrs:
            obj["xattrs"] = [[k, v] for k, v in self.xattrs]
        return obj

    @classmethod
    def from_obj(cls, obj: dict[str, Any]) -> Node:
        """Build a node from decoded msgpack, checking every field's type.

        This runs once per entry of every tree a backup compares against, so it avoids
        per-field conversions: msgpack already gives bytes, str and int.
        """
        get = obj.get
        xattrs = get("xattrs")
        node = cls(
            obj["name"],
            _NODE_TYPES[obj["type"]],
            obj["mode"],
            obj["uid"],
            obj["gid"],
            obj["user"],
            obj["group"],
            obj["mtime_ns"],
            obj["ctime_ns"],
            get("size", 0),
            obj["inode"],
            obj["device"],
            obj["links"],
            get("rdev", 0),
            get("target", b""),
            [(k, v) for k, v in xattrs] if xattrs else [],
            get("content") or [],
            get("subtree"),
        )
        ints = (
            node.mode, node.uid, node.gid, node.mtime_ns, node.ctime_ns,
            node.size, node.inode, node.device, node.links, node.rdev,
        )  # fmt: skip
        if (
            type(node.name) is not bytes
            or type(node.target) is not bytes
            or type(node.user) is not str
            or type(node.group) is not str
            or not all(type(v) is int for v in ints)
            or not all(type(c) is bytes and len(c) == 32 for c in node.content)
            or not (
                node.subtree is None or (type(node.subtree) is bytes and len(node.subtree) == 32)
            )
            or not all(type(k) is bytes and type(v) is bytes for k, v in node.xattrs)
        ):
            raise ValueError(
                _("entry {name!r} has a field of the wrong type").format(name=node.name)
            )
        return node

    @property
    def display_name(self) -> str:
        return self.name.decode("utf-8", "surrogateescape")


def valid_name(name: bytes) -> bool:
    """A name that is safe to create inside a directory: one component, not . or .."""
    return bool(name) and b"/" not in name and b"\0" not in name and name not in (b".", b"..")


def encode_tree(nodes: list[Node]) -> bytes:
    nodes = sorted(nodes, key=lambda n: n.name)
    packed = msgpack.packb(
        {"version": TREE_VERSION, "nodes": [n.to_obj() for n in nodes]}, use_bin_type=True
    )
    return bytes(packed)


def decode_tree(data: bytes, what: str) -> list[Node]:
    try:
        doc = msgpack.unpackb(data, raw=False)
        if doc.get("version") != TREE_VERSION:
            raise ValueError(
                _("unknown tree version {version!r}").format(version=doc.get("version"))
            )
        nodes = [Node.from_obj(o) for o in doc["nodes"]]
    except (ValueError, TypeError, KeyError, AttributeError, msgpack.ExtraData) as exc:
        raise IntegrityError(
            _("{what} is not a valid tree: {reason}").format(what=what, reason=exc)
        ) from None
    seen: set[bytes] = set()
    for n in nodes:
        if not valid_name(n.name) or n.name in seen:
            raise IntegrityError(
                _("{what} has an invalid or repeated entry name {name!r}").format(
                    what=what, name=n.name
                )
            )
        seen.add(n.name)
    return nodes
