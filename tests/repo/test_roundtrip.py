"""Back up generated trees, restore them into a fresh directory, compare every entry.

The trees hold every file type Cadang backs up (regular files of many sizes, some identical,
directories, symlinks including dangling ones, hard links, FIFOs, device nodes when root),
odd names (spaces, newlines, unicode, bytes that are not UTF-8, leading dashes, 255-byte
names), set-id and sticky modes, read-only directories, nanosecond mtimes, owners (when
root) and user.* extended attributes (where the filesystem has them).
"""

from __future__ import annotations

import os
import random
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import (
    IS_ROOT,
    TEST_PASSWORD,
    CliResult,
    assert_trees_equal,
    make_writable,
    restored_path,
    user_xattrs_supported,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadang.backends.local import LocalBackend
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.keys import TEST_KDF
from cadang.repo.repository import Repository
from cadang.repo.restorer import Restorer
from cadang.repo.tree import valid_name


def _mknod_works() -> bool:
    if not IS_ROOT:
        return False
    d = tempfile.mkdtemp()
    try:
        os.mknod(os.path.join(d, "probe"), stat.S_IFCHR | 0o600, os.makedev(1, 3))
        return True
    except OSError:
        return False
    finally:
        shutil.rmtree(d)


CAN_MKNOD = _mknod_works()
XATTRS = user_xattrs_supported(Path(tempfile.gettempdir()))

ODD_NAMES = [
    b"space name",
    b" leading and trailing ",
    b"new\nline",
    b"tab\tand\rcr",
    "unicode-é-日本語-🙂".encode(),
    b"not-utf8-\xff\xfe\x80",
    b"-leading-dash",
    b"--",
    b"-",
    b".hidden",
    b"...",
    b"x" * 255,
    b"*glob?[x]",
    b"back\\slash",
    b"quote'\"",
]

# --- the model of a tree -----------------------------------------------------------------


@dataclass
class Entry:
    name: bytes
    kind: str  # file, dir, symlink, hardlink, fifo, chardev
    mode: int = 0o644
    mtime_ns: int = 0
    owner: tuple[int, int] | None = None
    xattrs: dict[bytes, bytes] = field(default_factory=dict)
    content: tuple[str, int, int] = ("pool", 0, 0)  # (pool, k, _) or (random, size, seed)
    target: bytes = b""
    link_to: int = 0
    children: list[Entry] = field(default_factory=list)


names = st.one_of(
    st.sampled_from(ODD_NAMES),
    st.text(min_size=1, max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(min_size=1, max_size=20),
).filter(lambda n: valid_name(n) and len(n) <= 255)

mtimes = st.one_of(
    st.integers(0, 4_000_000_000 * 10**9),
    st.integers(-(2**31) * 10**9, 0),  # before 1970
    st.integers(1_600_000_000, 1_700_000_000).map(lambda s: s * 10**9 + 123_456_789),
)
owners = st.sampled_from([(0, 0), (1, 1), (1234, 5678), (65534, 65534), (4_000_000, 7)])
xattr_sets = st.dictionaries(
    st.sampled_from([b"user.a", b"user.comment", b"user.\xc3\xa9t\xc3\xa9", b"user.bin"]),
    st.binary(max_size=40),
    max_size=3,
)
FILE_MODES = [0o644, 0o600, 0o755, 0o400, 0o640, 0o4755, 0o2750, 0o6711] + (
    [0o000] if IS_ROOT else []
)
DIR_MODES = [0o755, 0o700, 0o1777, 0o555, 0o2775, 0o750] + ([0o000] if IS_ROOT else [])

contents = st.one_of(
    st.tuples(st.just("pool"), st.integers(0, 4), st.just(0)),
    st.tuples(st.just("random"), st.integers(0, 5000), st.integers(0, 2**32)),
    st.tuples(st.just("random"), st.integers(400_000, 2_600_000), st.integers(0, 2**32)),
)


@st.composite
def entries(draw: st.DrawFn, depth: int) -> list[Entry]:
    kinds = ["file", "file", "file", "symlink", "hardlink", "fifo"]
    if depth < 2:
        kinds += ["dir", "dir"]
    if CAN_MKNOD:
        kinds.append("chardev")
    out: list[Entry] = []
    for name in draw(st.lists(names, max_size=6 if depth == 0 else 4, unique=True)):
        kind = draw(st.sampled_from(kinds))
        e = Entry(name=name, kind=kind, mtime_ns=draw(mtimes))
        if IS_ROOT:
            e.owner = draw(owners)
        if kind == "file":
            e.mode = draw(st.sampled_from(FILE_MODES))
            e.content = draw(contents)
            if XATTRS:
                e.xattrs = draw(xattr_sets)
        elif kind == "dir":
            e.mode = draw(st.sampled_from(DIR_MODES))
            e.children = draw(entries(depth + 1))
            if XATTRS:
                e.xattrs = draw(xattr_sets)
        elif kind == "symlink":
            e.target = draw(
                st.one_of(
                    st.sampled_from(
                        [b"does-not-exist", b"/etc/hostname", b"../..", b"x" * 1000, b"\xff"]
                    ),
                    names,
                )
            )
        elif kind == "hardlink":
            e.link_to = draw(st.integers(0, 100))
        elif kind == "fifo":
            e.mode = draw(st.sampled_from([0o644, 0o600, 0o666]))
        elif kind == "chardev":
            e.mode = draw(st.sampled_from([0o666, 0o600]))
            e.link_to = draw(st.sampled_from([os.makedev(1, 3), os.makedev(1, 5), 42]))
        out.append(e)
    return out


def make_pool(seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    return [
        b"",
        b"hello world\n",
        b"INSERT INTO t VALUES (1);\n" * 40_000,  # ~1 MiB, compressible
        rnd.randbytes(700_000),
        rnd.randbytes(1_100_000),
    ]


def materialize(root: bytes, tree: list[Entry], pool: list[bytes]) -> None:
    """Create the tree: entries first, then hard links, then metadata bottom-up."""
    files: list[bytes] = []
    links: list[tuple[bytes, Entry]] = []
    finish: list[tuple[bytes, Entry]] = []

    def create(base: bytes, items: list[Entry]) -> None:
        for e in items:
            p = os.path.join(base, e.name)
            if e.kind == "file":
                kind, a, b = e.content
                data = pool[a] if kind == "pool" else random.Random(b).randbytes(a)
                with open(p, "wb") as f:
                    f.write(data)
                files.append(p)
            elif e.kind == "dir":
                os.mkdir(p)
                create(p, e.children)
            elif e.kind == "symlink":
                os.symlink(e.target, p)
            elif e.kind == "fifo":
                os.mkfifo(p)
            elif e.kind == "chardev":
                os.mknod(p, stat.S_IFCHR | 0o600, e.link_to)
            if e.kind == "hardlink":
                links.append((p, e))
            else:
                finish.append((p, e))

    create(root, tree)
    for p, e in links:
        if files:
            os.link(files[e.link_to % len(files)], p)
        else:  # nothing to link to: an ordinary empty file
            with open(p, "wb"):
                pass
            finish.append((p, Entry(name=e.name, kind="file", mtime_ns=e.mtime_ns)))
    # Deepest first, so setting a directory's time comes after everything inside it.
    for p, e in sorted(finish, key=lambda pe: -pe[0].count(b"/")):
        for k, v in e.xattrs.items():
            os.setxattr(p, k, v)
        if e.owner is not None:
            os.chown(p, *e.owner, follow_symlinks=False)
        if e.kind != "symlink":
            os.chmod(p, e.mode)
        os.utime(p, ns=(e.mtime_ns, e.mtime_ns), follow_symlinks=False)
    os.utime(root, ns=(1_650_000_000_123_456_789,) * 2)


def backup_and_restore(src: bytes, work: Path) -> tuple[int, list[str]]:
    repo = Repository.init(LocalBackend(str(work / "repo")), TEST_PASSWORD, TEST_KDF)
    try:
        snap, summary = Archiver(repo).backup(BackupOptions(paths=[os.fsdecode(src)]))
        assert summary.errors == []
        target = work / "restore"
        result = Restorer(repo).restore(snap, str(target))
        assert result.errors == []
        restored = os.path.join(os.fsencode(target), src.lstrip(b"/"))
        return assert_trees_equal(src, restored), result.warnings
    finally:
        repo.close()


@settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=entries(0), pool_seed=st.integers(0, 3))
def test_generated_tree_roundtrip(tmp_path: Path, tree: list[Entry], pool_seed: int) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        src = os.path.join(os.fsencode(work), b"src")
        os.mkdir(src)
        materialize(src, tree, make_pool(pool_seed))
        compared, warnings = backup_and_restore(src, work)
        assert compared >= 1
        assert warnings == []
    finally:
        make_writable(work)
        shutil.rmtree(work)


def test_fixed_tree_with_every_kind(tmp_path: Path) -> None:
    """One hand-written tree with every kind at once, so each is surely covered."""
    tree = [
        Entry(b"empty", "file", content=("pool", 0, 0)),
        Entry(b"big", "file", content=("random", 3_000_000, 1), mtime_ns=1_234_567_890_123_456_789),
        Entry(b"dup-a", "file", content=("pool", 3, 0), xattrs={b"user.k": b"v"} if XATTRS else {}),
        Entry(b"dup-b", "file", content=("pool", 3, 0), mode=0o4755),
        Entry(b"hl", "hardlink", link_to=1),
        Entry(b"dangling", "symlink", target=b"nowhere/at/all"),
        Entry(b"abs", "symlink", target=b"/etc/hostname"),
        Entry(b"fifo", "fifo", mode=0o600),
        Entry(
            b"ro-dir",
            "dir",
            mode=0o555,
            children=[Entry(b"inside", "file", content=("pool", 1, 0), mode=0o400)],
        ),
        Entry(b"sticky", "dir", mode=0o1777, children=[Entry(b"\xff\xfe", "file")]),
        Entry(b"new\nline", "dir", children=[Entry(b"-rf", "file"), Entry(b"x" * 255, "file")]),
    ]
    if CAN_MKNOD:
        tree.append(Entry(b"null", "chardev", mode=0o666, link_to=os.makedev(1, 3)))
    if IS_ROOT:
        for e in tree:
            e.owner = (1234, 5678)
    src = os.fsencode(tmp_path / "src")
    os.mkdir(src)
    materialize(src, tree, make_pool(0))
    try:
        compared, warnings = backup_and_restore(src, tmp_path)
        assert compared == 16 + CAN_MKNOD
        assert warnings == []
        # The two hard-linked paths are one inode again.
        big = os.lstat(restored_path(tmp_path / "restore", tmp_path / "src") / "big")
        hl = os.lstat(restored_path(tmp_path / "restore", tmp_path / "src") / "hl")
        assert big.st_ino == hl.st_ino and big.st_nlink == 2
    finally:
        make_writable(tmp_path)


@pytest.mark.skipif(not IS_ROOT, reason="needs root to make other users' files")
def test_owner_restored_by_name(tmp_path: Path) -> None:
    """Owners with a name on this machine are restored by name; others by number."""
    import pwd

    src = tmp_path / "src"
    src.mkdir()
    (src / "by-name").write_bytes(b"x")
    (src / "by-number").write_bytes(b"y")
    nobody = pwd.getpwnam("nobody")
    os.chown(src / "by-name", nobody.pw_uid, nobody.pw_gid)
    os.chown(src / "by-number", 4_000_001, 4_000_002)
    _, warnings = backup_and_restore(os.fsencode(src), tmp_path)
    assert warnings == []
    out = restored_path(tmp_path / "restore", src)
    assert os.lstat(out / "by-name").st_uid == nobody.pw_uid
    assert (os.lstat(out / "by-number").st_uid, os.lstat(out / "by-number").st_gid) == (
        4_000_001,
        4_000_002,
    )


def test_roundtrip_through_the_cli(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    src = os.fsencode(tmp_path / "src")
    os.mkdir(src)
    tree = [
        Entry(b"a file", "file", content=("random", 900_000, 5), mode=0o640),
        Entry(b"link", "hardlink", link_to=0),
        Entry(b"sym", "symlink", target=b"a file"),
        Entry(b"pipe", "fifo"),
        Entry(b"d\xe9j\xe0", "dir", mode=0o750, children=[Entry(b"-n", "file", mode=0o600)]),
    ]
    materialize(src, tree, make_pool(1))
    repo = tmp_path / "repo"
    assert cli("init", "--repo", repo).code == 0
    r = cli("backup", "--repo", repo, os.fsdecode(src))
    assert r.code == 0, r.err
    r = cli("restore", "--repo", repo, "latest", "--target", tmp_path / "out")
    assert r.code == 0, r.err
    assert "restored snapshot" in r.out
    assert (
        assert_trees_equal(
            src, os.fsencode(restored_path(tmp_path / "out", Path(os.fsdecode(src))))
        )
        == 7
    )


def test_socket_is_recorded_and_skipped_on_restore(tmp_path: Path) -> None:
    import socket

    from cadang.repo.tree import NodeType
    from cadang.repo.walker import find_node

    src = tmp_path / "s"
    src.mkdir()
    (src / "f").write_bytes(b"f")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(src / "sock"))
        repo = Repository.init(LocalBackend(str(tmp_path / "repo")), TEST_PASSWORD, TEST_KDF)
        snap, summary = Archiver(repo).backup(BackupOptions(paths=[str(src)]))
    finally:
        sock.close()
    assert summary.errors == []
    node = find_node(repo, snap.tree, str(src / "sock"))
    assert node is not None and node.type is NodeType.SOCKET
    result = Restorer(repo).restore(snap, str(tmp_path / "out"))
    assert result.errors == []
    assert any("socket not restored" in w for w in result.warnings)
    out = restored_path(tmp_path / "out", src)
    assert (out / "f").read_bytes() == b"f" and not os.path.lexists(out / "sock")
