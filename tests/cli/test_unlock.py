"""cadang unlock [--remove-all]."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CliResult, reopen

from cadang.backends import FileType
from cadang.repo.locks import STALE_AFTER, Lock
from cadang.repo.repository import Repository

Cli = Callable[..., CliResult]
OTHER_HOST = "server-lain.kpp.example"


def fabricate_lock(repo: Repository, exclusive: bool = False, **changes: Any) -> str:
    """Write a lock with the real writer, then store it again with edited fields."""
    written = Lock(repo, exclusive)._write()
    doc = json.loads(repo.load_file(FileType.LOCK, written))
    doc.update(changes)
    repo.backend.remove(FileType.LOCK, written)
    return repo.save_file(FileType.LOCK, json.dumps(doc).encode())


@pytest.fixture
def repo_dir(cli: Cli, tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    assert cli("init", "--repo", path).code == 0
    return path


@pytest.fixture
def locks(repo_dir: Path) -> dict[str, str]:
    dead = subprocess.Popen(["true"])
    dead.wait()
    repo = reopen(repo_dir)
    try:
        return {
            "old foreign": fabricate_lock(
                repo, hostname=OTHER_HOST, time=time.time() - STALE_AFTER - 120
            ),
            "fresh foreign": fabricate_lock(repo, exclusive=True, hostname=OTHER_HOST),
            "dead here": fabricate_lock(repo, pid=dead.pid),
        }
    finally:
        repo.close()


def lock_files(repo_dir: Path) -> set[str]:
    return {p.name for p in (repo_dir / "locks").iterdir() if not p.name.endswith(".tmp")}


def test_unlock_removes_only_stale_locks(cli: Cli, repo_dir: Path, locks: dict[str, str]) -> None:
    result = cli("unlock", "--repo", repo_dir)
    assert result.code == 0, result.err
    assert lock_files(repo_dir) == {locks["fresh foreign"]}
    assert "2 lock(s) removed, 1 kept" in result.out
    assert f"kept exclusive lock {locks['fresh foreign'][:8]}" in result.out
    assert OTHER_HOST in result.out
    assert "--remove-all" in result.err  # says how to remove the kept one if sure

    again = cli("unlock", "--repo", repo_dir, "--json")
    doc = json.loads(again.out)
    assert doc["removed"] == []
    assert [k["id"] for k in doc["kept"]] == [locks["fresh foreign"]]


def test_unlock_remove_all_warns_and_removes_everything(
    cli: Cli, repo_dir: Path, locks: dict[str, str]
) -> None:
    result = cli("unlock", "--repo", repo_dir, "--remove-all", "--json")
    assert result.code == 0, result.err
    assert "warning" in result.err
    assert {r["id"] for r in json.loads(result.out)["removed"]} == set(locks.values())
    assert lock_files(repo_dir) == set()


def test_a_kept_lock_still_blocks_and_a_removed_one_does_not(
    cli: Cli, repo_dir: Path, locks: dict[str, str], tmp_path: Path
) -> None:
    # The fresh exclusive lock of another host blocks even a shared operation.
    pw = tmp_path / "new.pw"
    pw.write_text("new")
    blocked = cli("key", "add", "--repo", repo_dir, "--new-password-file", pw)
    assert blocked.code == 11 and OTHER_HOST in blocked.err
    assert cli("unlock", "--repo", repo_dir).code == 0
    assert cli("key", "add", "--repo", repo_dir, "--new-password-file", pw).code == 11
    assert cli("unlock", "--repo", repo_dir, "--remove-all").code == 0
    assert cli("key", "add", "--repo", repo_dir, "--new-password-file", pw).code == 0
