"""Corruption: a flipped byte or a cut in any stored file is found, named by id, and mapped
to the snapshots and files it costs.

Every test damages a private copy of the two-snapshot repository of ``check_repo`` and
compares what check reports with what an independent walk of the undamaged original says
is lost (:func:`conftest.expected_affected`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from conftest import (
    TEST_PASSWORD,
    CheckRepo,
    expected_affected,
    flip_byte,
    index_layout,
    truncate_file,
)

from cadang.backends import FileType
from cadang.backends.local import LocalBackend
from cadang.repo.checker import Checker, CheckResult, open_for_check, read_config_for_check
from cadang.repo.pack import BlobType, PackedBlob

POSITIONS = ["start", "middle", "end"]
MASKS = [0x01, 0x80, 0xFF, 0x10, 0x40]  # single-bit flips mostly, as a failing disk makes


def run_check(path: Path, read_data: bool = False) -> CheckResult:
    backend = LocalBackend(str(path))
    repo = open_for_check(backend, TEST_PASSWORD, read_config_for_check(backend))
    try:
        return Checker(repo).check(read_data=read_data)
    finally:
        repo.close()


def offset_at(size: int, where: str) -> int:
    return {"start": 0, "middle": size // 2, "end": size - 1}[where]


def sampled_offsets(size: int, count: int) -> list[int]:
    """``count`` offsets spread over the whole file, plus its first and last 8 bytes."""
    step = max(1, size // count)
    return sorted({*range(0, size, step), *range(min(8, size)), *range(max(0, size - 8), size)})


@functools.cache
def _packs(template: Path) -> dict[str, list[PackedBlob]]:
    out: dict[str, list[PackedBlob]] = {}
    for packs in index_layout(template).values():
        out.update(packs)
    return out


@functools.cache
def _expected(template: Path, lost: frozenset[bytes]) -> dict[str, list[str]]:
    return expected_affected(template, set(lost))


def blob_at(entries: list[PackedBlob], offset: int) -> frozenset[bytes]:
    """The blob a byte of a pack belongs to; none for the header and trailer."""
    return frozenset(e.id for e in entries if e.offset <= offset < e.offset + e.length)


def pack_names(repo: CheckRepo) -> list[str]:
    return sorted(_packs(repo.template))


def assert_names(result: CheckResult, name: str) -> None:
    assert not result.ok
    assert any(name in e for e in result.errors), (name, result.errors)


# --- one flipped byte in each kind of file, at its start, middle and end ---------------------


@pytest.mark.parametrize("where", POSITIONS)
def test_flipped_config_byte(check_repo: CheckRepo, where: str) -> None:
    config = check_repo.path / "config"
    flip_byte(config, offset_at(config.stat().st_size, where))
    result = run_check(check_repo.path)
    assert result.damaged == {"config": ["config"]}
    assert result.errors and all("config" in e for e in result.errors)
    assert result.affected == {}


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("where", POSITIONS)
def test_flipped_key_byte(check_repo: CheckRepo, which: int, where: str) -> None:
    key = check_repo.files(FileType.KEY)[which]
    flip_byte(key, offset_at(key.stat().st_size, where))
    result = run_check(check_repo.path)
    assert result.damaged == {"keys": [key.name]}
    assert len(result.errors) == 1
    assert_names(result, key.name)
    assert result.affected == {}


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("where", POSITIONS)
def test_flipped_snapshot_byte(check_repo: CheckRepo, which: int, where: str) -> None:
    snap = check_repo.path / "snapshots" / check_repo.snapshots[which]
    flip_byte(snap, offset_at(snap.stat().st_size, where))
    result = run_check(check_repo.path, read_data=True)
    assert result.damaged == {"snapshots": [snap.name]}
    assert len(result.errors) == 1
    assert_names(result, snap.name)
    # The other snapshot is whole; this one cannot even be opened, so it has no file list.
    assert result.affected == {}
    assert result.checked["snapshots"] == 2


def index_loss(repo: CheckRepo, name: str) -> tuple[set[str], frozenset[bytes]]:
    """The packs only index file ``name`` lists, and the blobs in them."""
    layout = index_layout(repo.template)
    others = {p for n, packs in layout.items() if n != name for p in packs}
    only = {p for p in layout[name] if p not in others}
    return only, frozenset(e.id for p in only for e in layout[name][p])


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("where", POSITIONS)
def test_flipped_index_byte(check_repo: CheckRepo, which: int, where: str) -> None:
    index = check_repo.files(FileType.INDEX)[which]
    flip_byte(index, offset_at(index.stat().st_size, where))
    result = run_check(check_repo.path)
    assert index.name in result.damaged["index"]
    assert_names(result, index.name)
    only, lost = index_loss(check_repo, index.name)
    assert only
    # The packs are still there, but nothing indexes them: check says so, and says that
    # prune must not remove them.
    for pack in only:
        assert any(pack in e and "do not prune" in e for e in result.errors), pack
    expected = _expected(check_repo.template, lost)
    assert expected  # each backup's index holds blobs its snapshot needs
    assert result.affected == expected


@pytest.mark.parametrize("where", POSITIONS)
def test_flipped_pack_byte(check_repo: CheckRepo, where: str) -> None:
    """Every pack in turn, tree packs and data packs (how many depends on the chunker's
    secret seed, so they are looped over rather than parametrized)."""
    packs = _packs(check_repo.template)
    assert len(packs) >= 4
    for pack, entries in sorted(packs.items()):
        path = check_repo.path / "data" / pack[:2] / pack
        offset = offset_at(path.stat().st_size, where)
        flip_byte(path, offset)
        result = run_check(check_repo.path, read_data=True)
        flip_byte(path, offset)
        assert pack in result.damaged["packs"]
        assert_names(result, pack)
        lost = blob_at(entries, offset)
        assert result.affected == _expected(check_repo.template, lost), (pack, offset)
        if lost:
            assert result.affected, "a damaged blob in use must cost some file or directory"
            assert {b.hex() for b in lost} <= set(result.damaged["blobs"])
        if lost and entries[0].type is BlobType.TREE:
            assert {b.hex() for b in lost} <= set(result.damaged["trees"])
    assert run_check(check_repo.path, read_data=True).ok


def test_both_kinds_of_pack_exist(check_repo: CheckRepo) -> None:
    kinds = {entries[0].type for entries in _packs(check_repo.template).values()}
    assert kinds == {BlobType.DATA, BlobType.TREE}
    for entries in _packs(check_repo.template).values():
        assert len({e.type for e in entries}) == 1


def test_damage_shared_by_two_snapshots_names_both(check_repo: CheckRepo) -> None:
    """big.bin is in both snapshots: a flip in one of its chunks costs it in both."""
    big = str(check_repo.src / "big.bin")
    packs = _packs(check_repo.template)
    # The pack holding big.bin's first chunk: the chunk both snapshots share.
    from conftest import reopen

    from cadang.repo.walker import find_node

    repo = reopen(check_repo.template)
    try:
        from cadang.repo.snapshot import load_snapshot

        node = find_node(repo, load_snapshot(repo, check_repo.snapshots[0]).tree, big)
        assert node is not None and len(node.content) >= 3
        chunk = node.content[0]
    finally:
        repo.close()
    pack, entry = next((p, e) for p, es in packs.items() for e in es if e.id == chunk)
    flip_byte(check_repo.path / "data" / pack[:2] / pack, entry.offset + entry.length // 2)
    result = run_check(check_repo.path, read_data=True)
    assert_names(result, pack)
    assert result.affected == {s: [big] for s in check_repo.snapshots}


# --- what the structure check finds without reading data -------------------------------------


@pytest.mark.parametrize("where", POSITIONS)
def test_tree_pack_damage_is_found_without_read_data(check_repo: CheckRepo, where: str) -> None:
    packs = _packs(check_repo.template)
    for pack, entries in packs.items():
        if entries[0].type is not BlobType.TREE:
            continue
        path = check_repo.path / "data" / pack[:2] / pack
        offset = offset_at(path.stat().st_size, where)
        flip_byte(path, offset)
        result = run_check(check_repo.path)
        assert pack in result.damaged["packs"]
        assert_names(result, pack)
        assert result.affected == _expected(check_repo.template, blob_at(entries, offset))
        flip_byte(path, offset)
    assert run_check(check_repo.path).ok


def test_data_blob_damage_needs_read_data(check_repo: CheckRepo) -> None:
    packs = _packs(check_repo.template)
    pack, entries = max(
        ((p, es) for p, es in packs.items() if es[0].type is BlobType.DATA),
        key=lambda item: len(item[1]),
    )
    e = entries[0]
    flip_byte(check_repo.path / "data" / pack[:2] / pack, e.offset + e.length // 2)
    assert run_check(check_repo.path).ok  # the structure is intact: only reading shows it
    result = run_check(check_repo.path, read_data=True)
    assert_names(result, pack)
    assert e.id.hex() in result.damaged["blobs"]
    assert result.affected == _expected(check_repo.template, frozenset({e.id}))


# --- truncation and loss ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", [BlobType.DATA, BlobType.TREE])
@pytest.mark.parametrize("keep", ["none", "half", "all-but-one"])
def test_truncated_pack(check_repo: CheckRepo, kind: BlobType, keep: str) -> None:
    packs = _packs(check_repo.template)
    pack, entries = max(
        ((p, es) for p, es in packs.items() if es[0].type is kind), key=lambda item: len(item[1])
    )
    path = check_repo.path / "data" / pack[:2] / pack
    size = path.stat().st_size
    cut = {"none": 0, "half": size // 2, "all-but-one": size - 1}[keep]
    truncate_file(path, cut)
    result = run_check(check_repo.path)  # no --read-data needed: the size gives it away
    assert pack in result.damaged["packs"]
    assert_names(result, pack)
    lost = frozenset(e.id for e in entries if e.offset + e.length > cut)
    assert result.affected == _expected(check_repo.template, lost)


@pytest.mark.parametrize("which", [0, 1])
def test_truncated_index_file(check_repo: CheckRepo, which: int) -> None:
    index = check_repo.files(FileType.INDEX)[which]
    truncate_file(index, index.stat().st_size // 2)
    result = run_check(check_repo.path)
    assert result.damaged["index"] == [index.name]
    assert_names(result, index.name)
    _only, lost = index_loss(check_repo, index.name)
    assert result.affected == _expected(check_repo.template, lost)


def test_truncated_snapshot_file(check_repo: CheckRepo) -> None:
    snap = check_repo.path / "snapshots" / check_repo.snapshots[1]
    truncate_file(snap, 10)
    result = run_check(check_repo.path)
    assert result.damaged == {"snapshots": [snap.name]}
    assert_names(result, snap.name)


def test_missing_pack(check_repo: CheckRepo) -> None:
    packs = _packs(check_repo.template)
    pack = max((p for p, es in packs.items() if es[0].type is BlobType.DATA), key=len)
    (check_repo.path / "data" / pack[:2] / pack).unlink()
    result = run_check(check_repo.path)
    assert any(pack in e and "missing" in e for e in result.errors)
    lost = frozenset(e.id for e in packs[pack])
    assert result.affected == _expected(check_repo.template, lost)


def test_every_problem_is_reported_not_just_the_first(check_repo: CheckRepo) -> None:
    """Damage in five files at once: each one is named, and the losses add up."""
    packs = _packs(check_repo.template)
    data = sorted(p for p, es in packs.items() if es[0].type is BlobType.DATA)
    tree = sorted(p for p, es in packs.items() if es[0].type is BlobType.TREE)
    key = check_repo.files(FileType.KEY)[0]
    snap = check_repo.path / "snapshots" / check_repo.snapshots[0]
    flip_byte(key, 3)
    flip_byte(snap, 3)
    lost: set[bytes] = set()
    for pack in (data[0], data[-1], tree[0]):
        e = packs[pack][-1]
        flip_byte(check_repo.path / "data" / pack[:2] / pack, e.offset + 1)
        lost.add(e.id)
    result = run_check(check_repo.path, read_data=True)
    for name in (key.name, snap.name, data[0], data[-1], tree[0]):
        assert_names(result, name)
    expected = _expected(check_repo.template, frozenset(lost))
    # Snapshot 1's file is damaged, so only snapshot 2 can be mapped.
    assert result.affected == {
        s: paths for s, paths in expected.items() if s == check_repo.snapshots[1]
    }


# --- many flips: every one is found ----------------------------------------------------------


def _sweep(
    repo: CheckRepo, path: Path, offsets: list[int], read_data: bool, name: str
) -> list[CheckResult]:
    results = []
    for i, offset in enumerate(offsets):
        mask = MASKS[i % len(MASKS)]
        flip_byte(path, offset, mask)
        result = run_check(repo.path, read_data=read_data)
        flip_byte(path, offset, mask)
        assert not result.ok, f"flip of byte {offset} (mask {mask:#x}) in {name} went unseen"
        assert any(name in e for e in result.errors), (offset, result.errors)
        results.append(result)
    assert run_check(repo.path, read_data=read_data).ok  # the sweep put every byte back
    return results


def test_many_bytes_of_the_smallest_pack(check_repo: CheckRepo) -> None:
    """Every byte of the smallest pack when it is small, else 200 spread over all of it;
    each flip alone must be found and mapped to exactly the file or directory it costs."""
    packs = _packs(check_repo.template)
    pack = min(packs, key=lambda p: (check_repo.path / "data" / p[:2] / p).stat().st_size)
    path = check_repo.path / "data" / pack[:2] / pack
    size = path.stat().st_size
    offsets = list(range(size)) if size <= 200 else sampled_offsets(size, 200)
    assert len(offsets) >= min(size, 200)
    read = packs[pack][0].type is BlobType.DATA
    results = _sweep(check_repo, path, offsets, read_data=read, name=pack)
    for offset, result in zip(offsets, results, strict=True):
        assert result.affected == _expected(check_repo.template, blob_at(packs[pack], offset))


def test_sampled_bytes_of_every_pack(check_repo: CheckRepo) -> None:
    packs = _packs(check_repo.template)
    for pack, entries in sorted(packs.items()):
        path = check_repo.path / "data" / pack[:2] / pack
        offsets = sampled_offsets(path.stat().st_size, 24)
        # Trees are checked as they are walked: no reading of data needed for them.
        read = entries[0].type is BlobType.DATA
        results = _sweep(check_repo, path, offsets, read_data=read, name=pack)
        for offset, result in zip(offsets, results, strict=True):
            assert result.affected == _expected(check_repo.template, blob_at(entries, offset))


@pytest.mark.parametrize("ftype", [FileType.KEY, FileType.SNAPSHOT, FileType.INDEX])
def test_sampled_bytes_of_every_sealed_file(check_repo: CheckRepo, ftype: FileType) -> None:
    for path in check_repo.files(ftype):
        _sweep(check_repo, path, sampled_offsets(path.stat().st_size, 24), False, path.name)


def test_every_byte_of_the_config(check_repo: CheckRepo) -> None:
    """The config is plain JSON, not named by a hash: even whitespace changes are caught."""
    config = check_repo.path / "config"
    _sweep(check_repo, config, list(range(config.stat().st_size)), False, "config")
    text = config.read_bytes()
    # Whitespace into other whitespace still parses to the same settings and checksum.
    for offset in (text.index(b"\n"), text.index(b" ")):
        original = text[offset]
        for replacement in b"\t\r\n ":
            if replacement == original:
                continue
            flip_byte(config, offset, original ^ replacement)
            result = run_check(check_repo.path)
            flip_byte(config, offset, original ^ replacement)
            assert result.damaged.get("config") == ["config"], (offset, replacement)
