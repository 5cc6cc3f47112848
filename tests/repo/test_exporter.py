"""Export as tar and dump: what comes out is what went in, for Python's tarfile and GNU tar."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import tarfile
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FIXED_MTIME_NS, NON_UTF8_NAME, EveryKind, every_kind_tree

from cadang.errors import IntegrityError, PathNotFoundError, UsageError
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.exporter import (
    ContentReader,
    dump,
    dump_file,
    dump_tar,
    export_tar,
    iter_content,
    lookup_path,
)
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.tree import Node

GNU_TAR = shutil.which("tar")


@pytest.fixture
def tree(tmp_path: Path) -> EveryKind:
    return every_kind_tree(tmp_path / "src")


@pytest.fixture
def snap(repo: Repository, tree: EveryKind) -> Snapshot:
    snapshot, summary = Archiver(repo).backup(BackupOptions(paths=[str(tree.root)]))
    assert not summary.errors
    return snapshot


def node_at(repo: Repository, snap: Snapshot, path: Path | bytes) -> Node:
    node = lookup_path(repo, snap, os.fsencode(path))
    assert node is not None
    return node


class PipeLike:
    """A sink that can only be written to, like stdout on a pipe."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()

    def write(self, data: bytes) -> int:
        return self.buf.write(data)

    def flush(self) -> None:
        pass


def export_bytes(repo: Repository, snap: Snapshot, includes: list[bytes] | None = None) -> bytes:
    sink = PipeLike()
    export_tar(repo, snap, sink, includes or [])  # type: ignore[arg-type]
    return sink.buf.getvalue()


def inside(extracted: Path, source: Path) -> Path:
    return extracted / str(source).lstrip("/")


def compare_trees(source: Path, copy: Path, exact_ns: bool, xattrs: bool) -> None:
    """Every entry of source exists in copy with the same kind, data, mode and mtime."""
    raw_src = os.fsencode(source)
    raw_copy = os.fsencode(copy)
    checked = 0
    for dirpath, dirnames, files in os.walk(raw_src):
        for name in dirnames + files:
            a = os.path.join(dirpath, name)
            b = raw_copy + a[len(raw_src) :]
            sa, sb = os.lstat(a), os.lstat(b)
            assert stat.S_IFMT(sa.st_mode) == stat.S_IFMT(sb.st_mode), a
            assert (sa.st_uid, sa.st_gid) == (sb.st_uid, sb.st_gid), a
            if stat.S_ISLNK(sa.st_mode):
                assert os.readlink(a) == os.readlink(b)
                continue
            assert stat.S_IMODE(sa.st_mode) == stat.S_IMODE(sb.st_mode), a
            if exact_ns:
                assert sa.st_mtime_ns == sb.st_mtime_ns, a
            else:  # tarfile goes through a float: microseconds survive
                assert abs(sa.st_mtime_ns - sb.st_mtime_ns) < 1000, a
            if stat.S_ISREG(sa.st_mode):
                with open(a, "rb") as fa, open(b, "rb") as fb:
                    assert fa.read() == fb.read(), a
            if stat.S_ISCHR(sa.st_mode):
                assert sa.st_rdev == sb.st_rdev
            if xattrs and stat.S_ISREG(sa.st_mode):
                names = [n for n in os.listxattr(a) if n.startswith("user.")]
                for n in names:
                    assert os.getxattr(a, n) == os.getxattr(b, n), (a, n)
            checked += 1
    assert checked >= 10
    # the hard-link pair is one inode again
    assert os.lstat(copy / "hard1").st_ino == os.lstat(copy / "nested" / "hard2").st_ino
    assert (copy / os.fsdecode(NON_UTF8_NAME)).read_bytes() == b"non-utf8 name\n"


def test_tar_members(repo: Repository, snap: Snapshot, tree: EveryKind) -> None:
    data = export_bytes(repo, snap)
    base = str(tree.root).lstrip("/")
    with tarfile.open(fileobj=io.BytesIO(data), encoding="utf-8", errors="surrogateescape") as tf:
        assert tf.format == tarfile.PAX_FORMAT or tf.pax_headers == {}
        members = {m.name: m for m in tf.getmembers()}
    big = members[f"{base}/big.bin"]
    assert big.isreg() and big.size == len(tree.big)
    assert members[f"{base}/empty"].size == 0
    assert members[f"{base}/nested"].isdir()
    link = members[f"{base}/link"]
    assert link.issym() and link.linkname == "regular.txt"
    assert members[f"{base}/hard1"].isreg()
    hard2 = members[f"{base}/nested/hard2"]
    assert hard2.islnk() and hard2.linkname == f"{base}/hard1"
    assert members[f"{base}/fifo"].isfifo()
    regular = members[f"{base}/regular.txt"]
    assert regular.pax_headers["mtime"] == "1700000000.123456789"
    assert regular.mode == 0o640
    assert (regular.uname, regular.uid) == (tree.root.owner(), os.getuid())
    odd = members[f"{base}/" + os.fsdecode(NON_UTF8_NAME)]
    assert odd.name.encode("utf-8", "surrogateescape").endswith(NON_UTF8_NAME)
    if tree.has_xattr:
        value = members[f"{base}/xattr.txt"].pax_headers["SCHILY.xattr.user.cadang.note"]
        assert value.encode("utf-8", "surrogateescape") == b"v\xff\x00w"
    if tree.has_device:
        dev = members[f"{base}/chardev"]
        assert dev.ischr() and (dev.devmajor, dev.devminor) == (1, 3)


def test_python_tarfile_extracts_an_identical_tree(
    repo: Repository, snap: Snapshot, tree: EveryKind, tmp_path: Path
) -> None:
    out = tmp_path / "py"
    with tarfile.open(
        fileobj=io.BytesIO(export_bytes(repo, snap)), encoding="utf-8", errors="surrogateescape"
    ) as tf:
        tf.extractall(out, filter="fully_trusted")
    compare_trees(tree.root, inside(out, tree.root), exact_ns=False, xattrs=False)


@pytest.mark.skipif(GNU_TAR is None, reason="GNU tar is not installed")
def test_gnu_tar_extracts_an_identical_tree(
    repo: Repository, snap: Snapshot, tree: EveryKind, tmp_path: Path
) -> None:
    archive = tmp_path / "snap.tar"
    archive.write_bytes(export_bytes(repo, snap))
    out = tmp_path / "gnu"
    out.mkdir()
    result = subprocess.run(
        [
            "tar",
            "--warning=no-unknown-keyword",
            "--xattrs",
            "--xattrs-include=*",
            "--numeric-owner",
            "-xpf",
            str(archive),
            "-C",
            str(out),
        ],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    compare_trees(tree.root, inside(out, tree.root), exact_ns=True, xattrs=tree.has_xattr)
    if tree.has_xattr:
        copied = inside(out, tree.root) / "xattr.txt"
        assert os.getxattr(copied, "user.cadang.note") == b"v\xff\x00w"
    # and GNU tar lists the same names
    listing = subprocess.run(
        ["tar", "--warning=no-unknown-keyword", "--quoting-style=literal", "-tf", str(archive)],
        capture_output=True,
        check=True,
    ).stdout.splitlines()
    base = os.fsencode(tree.root).lstrip(b"/")
    assert base + b"/" + NON_UTF8_NAME in listing
    assert base + b"/nested/deeper/deepest.txt" in listing


def test_include_exports_the_path_and_its_parents_only(
    repo: Repository, snap: Snapshot, tree: EveryKind
) -> None:
    nested = os.fsencode(tree.root / "nested")
    data = export_bytes(repo, snap, [nested])
    base = str(tree.root).lstrip("/")
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        members = {m.name: m for m in tf.getmembers()}
    names = set(members)
    assert f"{base}/nested/deeper/deepest.txt" in names
    assert not any(n.startswith(f"{base}/") and "/nested" not in n[len(base) :] for n in names)
    assert base in names  # the parents come along, as directories
    hard2 = members[f"{base}/nested/hard2"]
    assert hard2.isreg() and hard2.size == len(b"linked content\n")  # first of its inode here


def test_include_of_a_missing_path_is_refused(repo: Repository, snap: Snapshot) -> None:
    with pytest.raises(PathNotFoundError, match="is not in snapshot"):
        export_bytes(repo, snap, [b"/no/such/path"])


def test_dump_file_is_byte_identical(repo: Repository, snap: Snapshot, tree: EveryKind) -> None:
    for name, want in (("big.bin", tree.big), ("empty", b""), ("regular.txt", None)):
        path = tree.root / name
        out = io.BytesIO()
        n = dump_file(repo, node_at(repo, snap, path), os.fsencode(path), out)
        expected = want if want is not None else path.read_bytes()
        assert out.getvalue() == expected
        assert n == len(expected)


def test_dump_of_a_directory_is_a_tar_named_from_that_directory(
    repo: Repository, snap: Snapshot, tree: EveryKind
) -> None:
    out = io.BytesIO()
    dump(repo, snap, os.fsencode(tree.root / "nested"), out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        names = sorted(tf.getnames())
        deepest = tf.extractfile("nested/deeper/deepest.txt")
        assert deepest is not None and deepest.read() == b"deep down\n"
    assert names == ["nested", "nested/deeper", "nested/deeper/deepest.txt", "nested/hard2"]


def test_dump_refuses_links_and_fifos(repo: Repository, snap: Snapshot, tree: EveryKind) -> None:
    with pytest.raises(UsageError, match=r"symbolic link to regular\.txt"):
        dump(repo, snap, os.fsencode(tree.root / "link"), io.BytesIO())
    with pytest.raises(UsageError, match="fifo"):
        dump(repo, snap, os.fsencode(tree.root / "fifo"), io.BytesIO())
    with pytest.raises(UsageError, match="not a directory"):
        dump_tar(repo, snap, os.fsencode(tree.root / "big.bin"), io.BytesIO())


def test_lookup_of_missing_paths(repo: Repository, snap: Snapshot, tree: EveryKind) -> None:
    assert lookup_path(repo, snap, b"/") is None
    with pytest.raises(PathNotFoundError, match=f"is not in snapshot {snap.short_id}"):
        lookup_path(repo, snap, os.fsencode(tree.root / "nope"))
    with pytest.raises(PathNotFoundError):
        lookup_path(repo, snap, os.fsencode(tree.root / "big.bin" / "below-a-file"))


def test_content_reader_reads_blob_by_blob(
    repo: Repository, snap: Snapshot, tree: EveryKind
) -> None:
    node = node_at(repo, snap, tree.root / "big.bin")
    assert len(node.content) >= 2  # the test needs a multi-chunk file
    pulled: list[int] = []

    def counted() -> Generator[bytes, None, None]:
        for data in iter_content(repo, node, b"big.bin"):
            pulled.append(len(data))
            yield data

    reader = ContentReader(counted())
    head = reader.read(10)
    assert head == tree.big[:10]
    assert len(pulled) == 1  # only the first blob is in memory
    parts = [head]
    while chunk := reader.read(100_003):  # odd sizes that straddle blob boundaries
        assert len(chunk) == 100_003 or len(chunk) == len(tree.big) - sum(map(len, parts))
        parts.append(chunk)
    assert b"".join(parts) == tree.big
    assert len(pulled) == len(node.content)
    reader.close()


def test_content_reader_readinto(repo: Repository, snap: Snapshot, tree: EveryKind) -> None:
    node = node_at(repo, snap, tree.root / "regular.txt")
    reader = io.BufferedReader(ContentReader(iter_content(repo, node, b"regular.txt")))
    assert reader.read() == (tree.root / "regular.txt").read_bytes()


def test_a_size_that_does_not_match_the_data_is_an_integrity_error(
    repo: Repository, snap: Snapshot, tree: EveryKind
) -> None:
    node = node_at(repo, snap, tree.root / "big.bin")
    for wrong in (node.size + 1, node.size - 1):
        bad = replace(node, size=wrong)
        with pytest.raises(IntegrityError, match="records"):
            for _ in iter_content(repo, bad, b"big.bin"):
                pass


def test_mtime_fraction_survives_python_extraction(
    repo: Repository, snap: Snapshot, tree: EveryKind, tmp_path: Path
) -> None:
    with tarfile.open(fileobj=io.BytesIO(export_bytes(repo, snap))) as tf:
        member = tf.getmember(str(tree.root / "regular.txt").lstrip("/"))
    assert abs(member.mtime - FIXED_MTIME_NS / 1e9) < 1e-6
