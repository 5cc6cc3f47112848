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

TREE_VERSION = 1


class NodeType(enum.StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    FIFO = "fifo"
    CHARDEV = "chardev"
    BLOCKDEV = "blockdev"
    SOCKET = "socket"


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
        node = cls(
            name=bytes(obj["name"]),
            type=NodeType(obj["type"]),
            mode=int(obj["mode"]),
            uid=int(obj["uid"]),
            gid=int(obj["gid"]),
            user=str(obj["user"]),
            group=str(obj["group"]),
            mtime_ns=int(obj["mtime_ns"]),
            ctime_ns=int(obj["ctime_ns"]),
            inode=int(obj["inode"]),
            device=int(obj["device"]),
            links=int(obj["links"]),
            size=int(obj.get("size", 0)),
            rdev=int(obj.get("rdev", 0)),
            target=bytes(obj.get("target", b"")),
            xattrs=[(bytes(k), bytes(v)) for k, v in obj.get("xattrs", [])],
            content=[bytes(c) for c in obj.get("content", [])],
            subtree=bytes(obj["subtree"]) if obj.get("subtree") is not None else None,
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
            raise ValueError(f"unknown tree version {doc.get('version')!r}")
        nodes = [Node.from_obj(o) for o in doc["nodes"]]
    except (ValueError, TypeError, KeyError, AttributeError, msgpack.ExtraData) as exc:
        raise IntegrityError(f"{what} is not a valid tree: {exc}") from None
    seen: set[bytes] = set()
    for n in nodes:
        if not valid_name(n.name) or n.name in seen:
            raise IntegrityError(f"{what} has an invalid or repeated entry name {n.name!r}")
        seen.add(n.name)
    return nodes
