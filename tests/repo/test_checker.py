"""The checker on clean repositories, its read-data subsets, its warnings, and what still
works after damage (restore of unaffected files; a damaged index file skipped)."""

from __future__ import annotations

import hashlib
import json
import math
import random
from pathlib import Path

import pytest
from conftest import (
    TEST_PASSWORD,
    CheckRepo,
    flip_byte,
    index_layout,
    reopen,
    tree_listing,
)

from cadang.backends import FileType
from cadang.backends.local import LocalBackend
from cadang.errors import UnsupportedFormatError, UsageError
from cadang.repo import blob as blobcodec
from cadang.repo.checker import (
    Checker,
    CheckResult,
    ReadSubset,
    open_for_check,
    parse_subset,
    read_config_for_check,
)
from cadang.repo.config import RepoConfig
from cadang.repo.crypto import storage_id
from cadang.repo.locks import Lock
from cadang.repo.pack import BlobType, PackedBlob, PackWriter
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import load_snapshot


def run_check(
    path: Path,
    read_data: bool = False,
    subset: ReadSubset | None = None,
    rng: random.Random | None = None,
) -> CheckResult:
    backend = LocalBackend(str(path))
    repo = open_for_check(backend, TEST_PASSWORD, read_config_for_check(backend))
    try:
        return Checker(repo, rng=rng).check(read_data=read_data, subset=subset)
    finally:
        repo.close()


def pack_files(path: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in (path / "data").glob("*/*")}


def all_packs(path: Path) -> dict[str, list[PackedBlob]]:
    out: dict[str, list[PackedBlob]] = {}
    for packs in index_layout(path).values():
        out.update(packs)
    return out


# --- clean repositories -------------------------------------------------------------------


def test_clean_repository_passes_the_structure_check(check_repo: CheckRepo) -> None:
    result = run_check(check_repo.path)
    assert result.ok, result.errors
    assert result.errors == [] and result.warnings == []
    assert result.damaged == {} and result.affected == {}
    c = result.checked
    assert c["keys"] == 2
    assert c["index_files"] == 2
    assert c["snapshots"] == 2
    assert c["packs"] == len(pack_files(check_repo.path))
    assert c["trees"] >= 8  # /tmp/.../src, sub and deep in each snapshot, some shared
    assert c["blob_refs"] >= 2 * 4  # big.bin alone has several chunks, in both snapshots
    assert c["packs_read"] == 0 and c["bytes_read"] == 0


def test_clean_repository_passes_read_data(check_repo: CheckRepo) -> None:
    result = run_check(check_repo.path, read_data=True)
    assert result.ok, result.errors
    assert result.warnings == []
    packs = pack_files(check_repo.path)
    assert result.checked["packs_read"] == len(packs)
    assert result.checked["bytes_read"] == sum(packs.values())


def test_an_empty_repository_passes(tmp_path: Path) -> None:
    from cadang.repo.keys import TEST_KDF
    from cadang.repo.repository import Repository

    Repository.init(LocalBackend(str(tmp_path / "r")), TEST_PASSWORD, TEST_KDF).close()
    result = run_check(tmp_path / "r", read_data=True)
    assert result.ok
    assert result.checked["packs"] == 0 and result.checked["snapshots"] == 0


def test_the_result_is_json(check_repo: CheckRepo) -> None:
    doc = json.loads(json.dumps(run_check(check_repo.path).to_json()))
    assert doc["ok"] is True
    assert set(doc) == {"ok", "errors", "warnings", "damaged", "affected", "checked"}


# --- read-data subsets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "percent", "group"),
    [
        ("10%", 10.0, None),
        ("100%", 100.0, None),
        ("0.5%", 0.5, None),
        (" 50 % ", 50.0, None),
        ("1/5", None, (1, 5)),
        ("5/5", None, (5, 5)),
        ("1/1", None, (1, 1)),
    ],
)
def test_parse_subset(text: str, percent: float | None, group: tuple[int, int] | None) -> None:
    s = parse_subset(text)
    assert s.percent == percent
    assert (s.group, s.groups) == (group or (None, None))


@pytest.mark.parametrize(
    "text", ["", "50", "0%", "101%", "-5%", "abc", "0/3", "4/3", "1/0", "1/2/3"]
)
def test_parse_subset_refuses_nonsense(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_subset(text)
    assert info.value.exit_code == 2
    assert text.strip() in info.value.message or repr(text) in info.value.message


def test_groups_cover_every_pack_once() -> None:
    packs = [f"{i:02x}" + "0" * 62 for i in range(256)]
    for t in (1, 2, 3, 7):
        seen: list[str] = []
        for n in range(1, t + 1):
            seen.extend(parse_subset(f"{n}/{t}").select(packs, random.Random(0)))
        assert sorted(seen) == sorted(packs)


def test_percent_selects_that_share_of_packs() -> None:
    packs = [f"{i:064x}" for i in range(40)]
    chosen = parse_subset("25%").select(packs, random.Random(1))
    assert len(chosen) == 10 and set(chosen) <= set(packs)
    assert len(parse_subset("1%").select(packs, random.Random(1))) == 1  # at least one
    # Random, not always the first ones.
    draws = {tuple(parse_subset("25%").select(packs, random.Random(i))) for i in range(5)}
    assert len(draws) > 1


def test_read_data_subsets_read_part_of_the_packs(check_repo: CheckRepo) -> None:
    packs = pack_files(check_repo.path)
    half = run_check(check_repo.path, subset=parse_subset("50%"), rng=random.Random(3))
    assert half.ok
    assert half.checked["packs_read"] == math.ceil(len(packs) / 2)
    total = 0
    for n in (1, 2):
        r = run_check(check_repo.path, subset=parse_subset(f"{n}/2"))
        assert r.ok
        total += r.checked["packs_read"]
    assert total == len(packs)


def test_a_subset_finds_damage_in_the_packs_it_reads(check_repo: CheckRepo) -> None:
    packs = all_packs(check_repo.path)
    pack = next(p for p, es in sorted(packs.items()) if es[0].type is BlobType.DATA)
    e = packs[pack][0]
    flip_byte(check_repo.path / "data" / pack[:2] / pack, e.offset + 20)
    group = int(pack[:2], 16) % 4 + 1
    found = run_check(check_repo.path, subset=parse_subset(f"{group}/4"))
    assert not found.ok and any(pack in m for m in found.errors)
    other = group % 4 + 1
    assert run_check(check_repo.path, subset=parse_subset(f"{other}/4")).ok


# --- warnings, not errors -------------------------------------------------------------------


def test_unreferenced_pack_is_a_warning(check_repo: CheckRepo) -> None:
    repo = reopen(check_repo.path)
    try:
        writer = PackWriter()
        data = b"left behind by an interrupted backup"
        writer.add(
            BlobType.DATA,
            repo.master.blob_id(data),
            blobcodec.encode(repo.cipher, data, 0, repo.master.blob_id(data)),
            len(data),
        )
        raw = writer.finish(repo.cipher)
        name = storage_id(raw)
        repo.backend.save(FileType.PACK, name, raw)
    finally:
        repo.close()
    result = run_check(check_repo.path, read_data=True)
    assert result.ok, result.errors
    assert any(name in w and "prune removes it" in w for w in result.warnings)


def test_unreadable_and_stale_locks_are_warnings(check_repo: CheckRepo) -> None:
    junk = b"not a lock"
    (check_repo.path / "locks" / storage_id(junk)).write_bytes(junk)
    result = run_check(check_repo.path)
    assert result.ok
    assert any(storage_id(junk) in w and "unreadable" in w for w in result.warnings)


def test_a_held_lock_is_not_a_problem(check_repo: CheckRepo) -> None:
    repo = reopen(check_repo.path)
    try:
        with Lock(repo, exclusive=False) as lock:
            lock.acquire()
            result = run_check(check_repo.path)
    finally:
        repo.close()
    assert result.ok and result.warnings == []


# --- a damaged config does not stop the check -------------------------------------------------


def test_damaged_config_is_reported_and_the_rest_still_checked(check_repo: CheckRepo) -> None:
    config = check_repo.path / "config"
    text = config.read_bytes()
    config.write_bytes(text.replace(b'"pack_size": 1048576', b'"pack_size": 1048577'))
    backend = LocalBackend(str(check_repo.path))
    assert read_config_for_check(backend) is None
    # Damage elsewhere too: it is still found.
    snap = check_repo.path / "snapshots" / check_repo.snapshots[0]
    flip_byte(snap, 7)
    result = run_check(check_repo.path)
    assert result.damaged == {"config": ["config"], "snapshots": [snap.name]}
    assert any("checksum" in e for e in result.errors)


def test_a_newer_intact_config_is_refused_not_reported(check_repo: CheckRepo) -> None:
    body = json.loads((check_repo.path / "config").read_bytes())
    body.pop("checksum")
    body["version"] = 99
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    body["checksum"] = hashlib.sha256(canonical.encode()).hexdigest()
    (check_repo.path / "config").write_text(json.dumps(body, sort_keys=True, indent=2) + "\n")
    with pytest.raises(UnsupportedFormatError, match="version 99"):
        read_config_for_check(LocalBackend(str(check_repo.path)))


def test_config_of_another_repository_is_an_error(check_repo: CheckRepo) -> None:
    other = RepoConfig(pack_size=1024 * 1024)
    (check_repo.path / "config").write_bytes(other.to_bytes())
    result = run_check(check_repo.path)
    assert result.damaged.get("config") == ["config"]
    assert any(other.id in e for e in result.errors)


# --- damage elsewhere stays survivable ---------------------------------------------------------


def test_restore_after_a_damaged_data_pack_restores_everything_else(
    check_repo: CheckRepo, tmp_path: Path
) -> None:
    # A chunk of mid.bin: one file lost, in both snapshots.
    repo = reopen(check_repo.path)
    try:
        from cadang.repo.walker import find_node

        snaps = [load_snapshot(repo, s) for s in check_repo.snapshots]
        mid = str(check_repo.src / "sub" / "deep" / "mid.bin")
        node = find_node(repo, snaps[1].tree, mid)
        assert node is not None and node.content
        entry = repo.index.lookup(node.content[0])
        assert entry is not None
        flip_byte(
            check_repo.path / "data" / entry.pack[:2] / entry.pack,
            entry.offset + entry.length // 3,
        )
        # Every file whose chunks share that pack but not that blob still restores.
        lost = {mid}
        result = run_check(check_repo.path, read_data=True)
        assert result.affected == {s: [mid] for s in check_repo.snapshots}
        for snap in snaps:
            target = tmp_path / f"restore-{snap.short_id}"
            summary = Restorer(repo).restore(snap, str(target))
            assert [p for p, _m in summary.errors] == [str(target) + mid]
            listing = tree_listing(target)
            for path, content in check_repo.contents[snap.id].items():
                rel = path.lstrip("/").encode()
                if path in lost:
                    continue
                assert listing[rel] == ("file", content), path
    finally:
        repo.close()


def test_load_index_skips_a_damaged_index_file(check_repo: CheckRepo, tmp_path: Path) -> None:
    index = check_repo.files(FileType.INDEX)
    layout = index_layout(check_repo.path)
    # Damage the index file that does not hold snapshot 2's root tree.
    repo = reopen(check_repo.path)
    root2 = load_snapshot(repo, check_repo.snapshots[1]).tree
    repo.close()
    damaged = next(
        p for p in index if not any(e.id == root2 for es in layout[p.name].values() for e in es)
    )
    flip_byte(damaged, 5)
    repo = reopen(check_repo.path)  # does not raise
    try:
        assert len(repo.index_errors) == 1 and damaged.name in repo.index_errors[0]
        kept = {
            e.id
            for n, packs in layout.items()
            if n != damaged.name
            for es in packs.values()
            for e in es
        }
        assert len(repo.index) == len(kept)
        # Files that snapshot 2 stored anew are still restorable.
        snap = load_snapshot(repo, check_repo.snapshots[1])
        summary = Restorer(repo).restore(snap, str(tmp_path / "out"))
    finally:
        repo.close()
    listing = tree_listing(tmp_path / "out")
    for name in ("new.txt", "small.txt"):
        path = str(check_repo.src / name)
        assert listing[path.lstrip("/").encode()] == ("file", check_repo.contents[snap.id][path])
    assert summary.errors  # the rest is reported, not silently missing
