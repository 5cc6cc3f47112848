"""cadang key list / add / remove / passwd."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD, CliResult, reopen

from cadang.repo.locks import locked

Cli = Callable[..., CliResult]


def secret(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.pw"
    path.write_text(text + "\n")
    return path


@pytest.fixture
def repo_dir(cli: Cli, tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    assert cli("init", "--repo", path).code == 0
    return path


def keys_json(cli: Cli, repo_dir: Path, *extra: str | Path) -> list[dict[str, object]]:
    result = cli("key", "list", "--repo", repo_dir, "--json", *extra)
    assert result.code == 0, result.err
    data: list[dict[str, object]] = json.loads(result.out)
    return data


def test_add_then_both_passphrases_open(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    kasi = secret(tmp_path, "kasi", "kasi's own passphrase")
    result = cli("key", "add", "--repo", repo_dir, "--new-password-file", kasi, "--label", "Kasi")
    assert result.code == 0, result.err
    assert "added key" in result.out

    as_first = keys_json(cli, repo_dir)
    as_kasi = keys_json(cli, repo_dir, "--password-file", kasi)
    assert len(as_first) == 2
    current_first = next(k for k in as_first if k["current"])
    current_kasi = next(k for k in as_kasi if k["current"])
    assert current_first["id"] != current_kasi["id"]
    assert current_kasi["label"] == "Kasi"
    assert str(current_kasi["id"]).startswith(result.out.split()[-1])

    table = cli("key", "list", "--repo", repo_dir)
    assert table.code == 0 and "Kasi" in table.out and "2 key(s)" in table.out
    assert any(line.startswith("*") for line in table.out.splitlines())


def test_removing_the_last_key_is_refused(cli: Cli, repo_dir: Path) -> None:
    [only] = keys_json(cli, repo_dir)
    result = cli("key", "remove", "--repo", repo_dir, str(only["id"])[:8])
    assert result.code != 0
    assert "last key" in result.err
    assert len(keys_json(cli, repo_dir)) == 1


def test_removing_the_current_key_is_refused(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    adb = secret(tmp_path, "adb", "adb passphrase")
    assert cli("key", "add", "--repo", repo_dir, "--new-password-file", adb).code == 0
    mine = next(k for k in keys_json(cli, repo_dir) if k["current"])
    result = cli("key", "remove", "--repo", repo_dir, str(mine["id"])[:8])
    assert result.code != 0
    assert "opened the repository" in result.err
    assert "another key's passphrase" in result.err
    # With the other key's passphrase it works, and the first passphrase no longer opens.
    removed = cli("key", "remove", "--repo", repo_dir, "--password-file", adb, str(mine["id"])[:8])
    assert removed.code == 0, removed.err
    assert len(keys_json(cli, repo_dir, "--password-file", adb)) == 1
    assert cli("key", "list", "--repo", repo_dir).code == 12


def test_passwd_replaces_the_passphrase(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    new = secret(tmp_path, "new", "a brand new passphrase")
    result = cli("key", "passwd", "--repo", repo_dir, "--new-password-file", new)
    assert result.code == 0, result.err
    assert "changed the passphrase" in result.out
    old = cli("key", "list", "--repo", repo_dir)
    assert old.code == 12
    assert "wrong passphrase" in old.err
    [key] = keys_json(cli, repo_dir, "--password-file", new)
    assert key["current"] is True


def test_wrong_passphrase_message(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    wrong = secret(tmp_path, "wrong", "not it")
    result = cli("key", "list", "--repo", repo_dir, "--password-file", wrong)
    assert result.code == 12
    assert "wrong passphrase" in result.err and "hint" in result.err
    assert "Traceback" not in result.err


def test_new_passphrase_needs_a_file_or_a_terminal(
    cli: Cli, repo_dir: Path, tmp_path: Path
) -> None:
    result = cli("key", "add", "--repo", repo_dir)
    assert result.code == 2
    assert "no terminal" in result.err
    empty = tmp_path / "empty.pw"
    empty.write_text("\n")
    result = cli("key", "add", "--repo", repo_dir, "--new-password-file", empty)
    assert result.code == 2 and "empty" in result.err
    assert len(keys_json(cli, repo_dir)) == 1


def test_key_remove_takes_an_exclusive_lock(cli: Cli, repo_dir: Path, tmp_path: Path) -> None:
    officer = secret(tmp_path, "officer", "officer passphrase")
    assert cli("key", "add", "--repo", repo_dir, "--new-password-file", officer).code == 0
    other = next(k for k in keys_json(cli, repo_dir) if not k["current"])
    held = reopen(repo_dir, TEST_PASSWORD)
    try:
        with locked(held, exclusive=False):  # e.g. a backup running
            # A shared lock and another shared lock coexist: adding works.
            added = cli("key", "add", "--repo", repo_dir, "--new-password-file", officer)
            assert added.code == 0, added.err
            refused = cli("key", "remove", "--repo", repo_dir, str(other["id"])[:8])
            assert refused.code == 11
            assert "locked" in refused.err
        with locked(held, exclusive=True):  # e.g. a prune running
            refused = cli("key", "add", "--repo", repo_dir, "--new-password-file", officer)
            assert refused.code == 11
        assert cli("key", "remove", "--repo", repo_dir, str(other["id"])[:8]).code == 0
    finally:
        held.close()
    assert len(keys_json(cli, repo_dir)) == 2
