"""Key files: one per person; add, list, remove, change a passphrase."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TEST_PASSWORD, reopen

from cadang.backends import FileType
from cadang.errors import KeyManagementError, UsageError, WrongPasswordError
from cadang.repo import keys
from cadang.repo.keys import TEST_KDF
from cadang.repo.repository import Repository


def add(repo: Repository, passphrase: str, label: str = "") -> str:
    return keys.add_key(repo.backend, repo.master, repo.config.id, passphrase, TEST_KDF, label)


def test_added_key_and_first_key_both_open_the_repository(
    repo: Repository, repo_path: Path
) -> None:
    kasi = add(repo, "kasi passphrase", label="Kasi")
    for password, key_id in [(TEST_PASSWORD, repo.key_id), ("kasi passphrase", kasi)]:
        other = reopen(repo_path, password)
        try:
            assert other.key_id == key_id
            assert other.master == repo.master
        finally:
            other.close()


def test_list_keys_shows_who_holds_each_key(repo: Repository) -> None:
    adb = add(repo, "adb", label="ADB")
    infos = keys.list_keys(repo.backend)
    assert {k.id for k in infos} == {repo.key_id, adb}
    by_id = {k.id: k for k in infos}
    assert by_id[adb].label == "ADB"
    assert by_id[adb].username and by_id[adb].hostname and by_id[adb].created


def test_list_keys_names_damaged_key_files(repo: Repository) -> None:
    repo.backend.save(FileType.KEY, "ab" * 32, b"not a key file")
    errors: list[str] = []
    infos = keys.list_keys(repo.backend, errors)
    assert [k.id for k in infos] == [repo.key_id]
    assert len(errors) == 1 and "abababab" in errors[0]


def test_removing_the_last_key_is_refused(repo: Repository, repo_path: Path) -> None:
    with pytest.raises(KeyManagementError, match="last key"):
        keys.remove_key(repo.backend, repo.key_id[:6], current_key_id="")
    assert repo.backend.exists(FileType.KEY, repo.key_id)
    reopen(repo_path).close()  # still opens


def test_removing_the_key_you_opened_with_is_refused(repo: Repository) -> None:
    add(repo, "officer")
    with pytest.raises(KeyManagementError, match="opened the repository") as exc:
        keys.remove_key(repo.backend, repo.key_id, repo.key_id)
    assert exc.value.hint is not None and "another key's passphrase" in exc.value.hint
    assert repo.backend.exists(FileType.KEY, repo.key_id)


def test_remove_another_key_by_prefix(repo: Repository, repo_path: Path) -> None:
    officer = add(repo, "officer")
    removed = keys.remove_key(repo.backend, officer[:8], repo.key_id)
    assert removed == officer
    assert not repo.backend.exists(FileType.KEY, officer)
    with pytest.raises(WrongPasswordError):
        reopen(repo_path, "officer")


def test_key_prefix_that_matches_nothing_or_several(repo: Repository) -> None:
    with pytest.raises(KeyManagementError, match="no key matches"):
        keys.find_key(repo.backend, "zz")
    with pytest.raises(UsageError):
        keys.find_key(repo.backend, "  ")
    # 17 keys: two must share their first hex digit.
    names = [repo.key_id] + [add(repo, f"p{i}") for i in range(16)]
    firsts = [n[0] for n in names]
    shared = next(c for c in firsts if firsts.count(c) > 1)
    with pytest.raises(KeyManagementError, match=r"matches [0-9]+ keys"):
        keys.find_key(repo.backend, shared)


def test_change_passphrase_replaces_the_key(repo: Repository, repo_path: Path) -> None:
    old = repo.key_id
    label_key = add(repo, "x", label="keep")
    keys.remove_key(repo.backend, label_key, old)  # back to one key
    new = keys.change_passphrase(
        repo.backend, repo.master, repo.config.id, old, "new passphrase", TEST_KDF
    )
    assert new != old
    assert [k.id for k in keys.list_keys(repo.backend)] == [new]
    with pytest.raises(WrongPasswordError, match="wrong passphrase"):
        reopen(repo_path, TEST_PASSWORD)
    r = reopen(repo_path, "new passphrase")
    try:
        assert r.key_id == new and r.master == repo.master
    finally:
        r.close()


def test_change_passphrase_keeps_the_label_unless_given(repo: Repository) -> None:
    kasi = add(repo, "kasi", label="Kasi")
    new = keys.change_passphrase(repo.backend, repo.master, repo.config.id, kasi, "k2", TEST_KDF)
    labels = {k.id: k.label for k in keys.list_keys(repo.backend)}
    assert labels[new] == "Kasi" and kasi not in labels
    newer = keys.change_passphrase(
        repo.backend, repo.master, repo.config.id, new, "k3", TEST_KDF, label="Kasi (2025)"
    )
    assert {k.id: k.label for k in keys.list_keys(repo.backend)}[newer] == "Kasi (2025)"


def test_wrong_passphrase_is_a_clear_error(repo: Repository, repo_path: Path) -> None:
    with pytest.raises(WrongPasswordError) as exc:
        reopen(repo_path, "not the passphrase")
    assert "wrong passphrase" in exc.value.message
    assert exc.value.exit_code == 12
