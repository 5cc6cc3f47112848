"""File metadata: reading it into a Node at backup, applying it at restore."""

from __future__ import annotations

import errno
import functools
import grp
import os
import pwd
import stat

from cadang.i18n import _
from cadang.repo.tree import Node, NodeType

# Errors that mean "this filesystem has no extended attributes", not "something broke".
_NO_XATTR = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENODATA, errno.EPERM, errno.EACCES}


@functools.lru_cache(maxsize=1024)
def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return ""


@functools.lru_cache(maxsize=1024)
def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return ""


@functools.lru_cache(maxsize=1024)
def uid_of(name: str, default: int) -> int:
    """The local uid of a user name; each uncached lookup reads /etc/passwd."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return default


@functools.lru_cache(maxsize=1024)
def gid_of(name: str, default: int) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return default


def node_type(mode: int) -> NodeType:
    if stat.S_ISREG(mode):
        return NodeType.FILE
    if stat.S_ISDIR(mode):
        return NodeType.DIR
    if stat.S_ISLNK(mode):
        return NodeType.SYMLINK
    if stat.S_ISFIFO(mode):
        return NodeType.FIFO
    if stat.S_ISCHR(mode):
        return NodeType.CHARDEV
    if stat.S_ISBLK(mode):
        return NodeType.BLOCKDEV
    return NodeType.SOCKET


def read_xattrs(path: bytes) -> list[tuple[bytes, bytes]]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _NO_XATTR:
            return []
        raise
    out = []
    for name in sorted(names):
        try:
            out.append((os.fsencode(name), os.getxattr(path, name, follow_symlinks=False)))
        except OSError as exc:
            if exc.errno not in _NO_XATTR:
                raise
    return out


def node_from_stat(
    name: bytes, path: bytes, st: os.stat_result, previous: Node | None = None
) -> Node:
    """A node for the entry; ``previous`` (the parent snapshot's node) saves syscalls."""
    ntype = node_type(st.st_mode)
    node = Node(
        name=name,
        type=ntype,
        mode=stat.S_IMODE(st.st_mode),
        uid=st.st_uid,
        gid=st.st_gid,
        user=user_name(st.st_uid),
        group=group_name(st.st_gid),
        mtime_ns=st.st_mtime_ns,
        ctime_ns=st.st_ctime_ns,
        inode=st.st_ino,
        device=st.st_dev,
        links=st.st_nlink,
    )
    if ntype is NodeType.FILE:
        node.size = st.st_size
    elif ntype is NodeType.SYMLINK:
        node.target = os.readlink(path)
    elif ntype in (NodeType.CHARDEV, NodeType.BLOCKDEV):
        node.rdev = st.st_rdev
    if (
        previous is not None
        and previous.ctime_ns == st.st_ctime_ns
        and previous.inode == st.st_ino
        and previous.type is ntype
    ):
        # Setting an extended attribute updates ctime, so an equal ctime means equal xattrs.
        node.xattrs = previous.xattrs
    else:
        node.xattrs = read_xattrs(path)
    return node


def apply_metadata(
    path: bytes, node: Node, as_root: bool, warn: list[str], fd: int | None = None
) -> None:
    """Owner, extended attributes, mode, then times (anything after would change mtime).

    Extended attributes go before the mode: a user may set user.* attributes only on a
    file they can write, so a read-only file's attributes must be set while it is writable.
    With ``fd`` (a regular file still open after writing) the calls work on the descriptor:
    no path lookups, and nothing can be swapped in under the name meanwhile.
    """
    if fd is not None:
        _apply_to_fd(fd, path, node, as_root, warn)
        return
    is_link = node.type is NodeType.SYMLINK
    if as_root:
        os.chown(path, *_owner(node), follow_symlinks=False)
    for key, value in node.xattrs:
        try:
            os.setxattr(path, key, value, follow_symlinks=False)
        except OSError as exc:
            warn.append(
                _("{path}: extended attribute {name!r} not restored: {reason}").format(
                    path=os.fsdecode(path), name=key, reason=exc.strerror
                )
            )
    if not is_link:
        os.chmod(path, node.mode)
    os.utime(path, ns=(node.mtime_ns, node.mtime_ns), follow_symlinks=False)


def _owner(node: Node) -> tuple[int, int]:
    # Prefer the name: a restore onto another server maps users by name, as tar does.
    uid = uid_of(node.user, node.uid) if node.user else node.uid
    gid = gid_of(node.group, node.gid) if node.group else node.gid
    return uid, gid


def _apply_to_fd(fd: int, path: bytes, node: Node, as_root: bool, warn: list[str]) -> None:
    if as_root:
        os.fchown(fd, *_owner(node))
    for key, value in node.xattrs:
        try:
            os.setxattr(fd, key, value)
        except OSError as exc:
            warn.append(
                _("{path}: extended attribute {name!r} not restored: {reason}").format(
                    path=os.fsdecode(path), name=key, reason=exc.strerror
                )
            )
    os.fchmod(fd, node.mode)
    os.utime(fd, ns=(node.mtime_ns, node.mtime_ns))
