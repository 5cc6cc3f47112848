"""cadang check on the command line, and restore and backup after damage."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import (
    CheckRepo,
    CliResult,
    flip_byte,
    index_layout,
    run_cadang,
    tree_listing,
)

from cadang.backends import FileType
from cadang.repo.pack import BlobType, PackedBlob

Cli = Callable[..., CliResult]


def all_packs(path: Path) -> dict[str, list[PackedBlob]]:
    out: dict[str, list[PackedBlob]] = {}
    for packs in index_layout(path).values():
        out.update(packs)
    return out


def damage_big_bin(repo: CheckRepo) -> str:
    """Flip a byte inside one chunk of big.bin (in both snapshots); return its pack."""
    packs = all_packs(repo.path)
    pack, entries = max(
        ((p, es) for p, es in packs.items() if es[0].type is BlobType.DATA),
        key=lambda item: max(e.raw_length for e in item[1]),
    )
    e = max(entries, key=lambda e: e.raw_length)  # the big chunks are big.bin's
    flip_byte(repo.path / "data" / pack[:2] / pack, e.offset + e.length // 2)
    return pack


def test_clean_repository(cli: Cli, check_repo: CheckRepo) -> None:
    r = cli("check", "--repo", check_repo.path)
    assert r.code == 0, r.err
    assert "no errors were found" in r.out
    assert "2 snapshot(s)" in r.out
    r = cli("check", "--repo", check_repo.path, "--read-data")
    assert r.code == 0, r.err
    n = len(list((check_repo.path / "data").glob("*/*")))
    assert f"read {n} pack(s)" in r.out
    # check leaves no lock behind
    assert list((check_repo.path / "locks").iterdir()) == []


def test_damage_fails_and_names_pack_snapshots_and_files(cli: Cli, check_repo: CheckRepo) -> None:
    pack = damage_big_bin(check_repo)
    assert cli("check", "--repo", check_repo.path).code == 0  # only reading the data shows it
    r = cli("check", "--repo", check_repo.path, "--read-data")
    assert r.code == 1
    assert "Traceback" not in r.err
    assert pack in r.out
    assert "the check found" in r.err
    big = str(check_repo.src / "big.bin")
    for snap in check_repo.snapshots:
        assert snap in r.out
    assert big in r.out


def test_json_output(cli: Cli, check_repo: CheckRepo) -> None:
    r = cli("check", "--repo", check_repo.path, "--json")
    assert r.code == 0
    doc = json.loads(r.out)
    assert doc["ok"] is True and doc["errors"] == []
    assert doc["checked"]["snapshots"] == 2

    pack = damage_big_bin(check_repo)
    r = cli("check", "--repo", check_repo.path, "--read-data", "--json")
    assert r.code == 1
    doc = json.loads(r.out)  # stdout stays pure JSON; the verdict goes to stderr
    assert doc["ok"] is False
    assert pack in doc["damaged"]["packs"]
    big = str(check_repo.src / "big.bin")
    assert doc["affected"] == {s: [big] for s in check_repo.snapshots}


def test_read_data_subset(cli: Cli, check_repo: CheckRepo) -> None:
    n = len(list((check_repo.path / "data").glob("*/*")))

    def packs_read(subset: str) -> int:
        r = cli("check", "--repo", check_repo.path, "--read-data-subset", subset, "--json")
        assert r.code == 0, r.err
        count: int = json.loads(r.out)["checked"]["packs_read"]
        return count

    assert packs_read("50%") == (n + 1) // 2
    assert packs_read("100%") == n
    assert packs_read("1/2") + packs_read("2/2") == n


@pytest.mark.parametrize("value", ["half", "0%", "150%", "3/2", "0/4", "1/0", "50"])
def test_bad_subset_is_a_usage_error(cli: Cli, check_repo: CheckRepo, value: str) -> None:
    r = cli("check", "--repo", check_repo.path, "--read-data-subset", value)
    assert r.code == 2
    assert "--read-data-subset" in r.err
    assert "Traceback" not in r.err + r.out


def test_read_data_and_subset_together_is_a_usage_error(cli: Cli, check_repo: CheckRepo) -> None:
    r = cli("check", "--repo", check_repo.path, "--read-data", "--read-data-subset", "10%")
    assert r.code == 2
    assert "either" in r.err


def test_damaged_config_is_reported_not_fatal(cli: Cli, check_repo: CheckRepo) -> None:
    flip_byte(check_repo.path / "config", 40)
    r = cli("check", "--repo", check_repo.path)
    assert r.code == 1
    assert "config is damaged" in r.out
    assert "Traceback" not in r.err


def test_the_only_usable_key_damaged_says_which(cli: Cli, check_repo: CheckRepo) -> None:
    for key in check_repo.files(FileType.KEY):
        flip_byte(key, 10)
    r = cli("check", "--repo", check_repo.path)
    assert r.code == 12
    assert "2 key file(s) are damaged" in r.err


def test_check_waits_for_no_one_but_refuses_an_exclusive_lock(
    cli: Cli, check_repo: CheckRepo
) -> None:
    from conftest import reopen

    from cadang.repo.locks import Lock

    repo = reopen(check_repo.path)
    try:
        lock = Lock(repo, exclusive=True)
        lock.acquire()
        try:
            r = cli("check", "--repo", check_repo.path)
        finally:
            lock.release()
    finally:
        repo.close()
    assert r.code == 11
    assert "locked" in r.err


def test_restore_after_damage_restores_the_rest(
    cli: Cli, check_repo: CheckRepo, tmp_path: Path
) -> None:
    damage_big_bin(check_repo)
    big = str(check_repo.src / "big.bin")
    target = tmp_path / "out"
    r = cli("restore", "--repo", check_repo.path, check_repo.snapshots[1], "--target", target)
    assert r.code != 0
    assert big in r.err
    listing = tree_listing(target)
    for path, content in check_repo.contents[check_repo.snapshots[1]].items():
        if path != big:
            assert listing[path.lstrip("/").encode()] == ("file", content), path


def test_restore_and_backup_warn_about_a_damaged_index_file(
    cli: Cli, check_repo: CheckRepo, tmp_path: Path
) -> None:
    # Damage the index of the first backup: snapshot 2's own new files stay restorable.
    from conftest import reopen

    from cadang.repo.snapshot import load_snapshot

    repo = reopen(check_repo.path)
    root2 = load_snapshot(repo, check_repo.snapshots[1]).tree
    repo.close()
    layout = index_layout(check_repo.path)
    damaged = next(
        p
        for p in check_repo.files(FileType.INDEX)
        if not any(e.id == root2 for es in layout[p.name].values() for e in es)
    )
    flip_byte(damaged, 3)
    target = tmp_path / "out"
    r = cli("restore", "--repo", check_repo.path, check_repo.snapshots[1], "--target", target)
    assert r.code == 1  # big.bin and sub/ were indexed only in the damaged file
    assert f"index/{damaged.name}" in r.err
    assert "cadang check" in r.err
    contents = check_repo.contents[check_repo.snapshots[1]]
    restored = tree_listing(target)
    for name in ("new.txt", "small.txt"):
        path = str(check_repo.src / name)
        assert restored[path.lstrip("/").encode()] == ("file", contents[path])
    assert str(check_repo.src / "big.bin") in r.err

    src = tmp_path / "more"
    src.mkdir()
    (src / "f").write_text("more data\n")
    r = cli("backup", "--repo", check_repo.path, src, "--quiet")
    assert r.code == 0, r.err
    assert damaged.name in r.err


@pytest.mark.slow
def test_subprocess_bad_subset_has_no_traceback(
    check_repo: CheckRepo, cli_env: dict[str, str]
) -> None:
    p = run_cadang("check", "--repo", check_repo.path, "--read-data-subset", "lots", env=cli_env)
    assert p.returncode == 2
    assert b"Traceback" not in p.stderr
    assert b"--read-data-subset" in p.stderr
    p = run_cadang("check", "--repo", check_repo.path, env=cli_env)
    assert p.returncode == 0, p.stderr
